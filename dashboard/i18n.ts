/** zh-CN first, English second. Every label on the wall goes through `t()`. */
import type { AlarmState, Role } from '../gateway/contract/api.js';

export type Lang = 'zh' | 'en';

const zh = {
  'app.title': '安稳应急指挥中心',
  'app.subtitle': '校园安全网关',
  'login.heading': '值班登录',
  'login.user': '用户名',
  'login.password': '密码',
  'login.submit': '登录',
  'login.busy': '正在登录…',
  'login.failed': '用户名或密码错误',
  'login.error': '无法连接网关：{msg}',
  'login.expired': '登录已过期，请重新登录',
  'header.logout': '退出',
  'conn.online': '已连接',
  'conn.connecting': '正在连接…',
  'conn.lost': '连接中断，正在重连…',
  'conn.down': '已断开',
  'conn.retry': '{s} 秒后重试（第 {n} 次）',
  'export.lagging': '历史数据导出滞后 {n} 分钟',
  'sound.enable': '点击启用声音',
  'sound.on': '声音已开启',
  'lang.toggle': 'EN',
  'alarms.heading': '未处置报警',
  'alarms.none': '当前无未处置报警',
  'alarms.test.heading': '测试报警',
  'alarms.test.none': '无',
  'alarm.raisedAt': '报警时间',
  'alarm.elapsed': '已持续',
  'alarm.device': '设备',
  'alarm.place': '位置',
  'alarm.zone': '区域',
  'alarm.escalated': '超时未确认',
  'alarm.test': '测试',
  'alarm.clock': '设备时钟偏差 {d}',
  'alarm.lastBy': '{who} {state}',
  'action.ack': '确认',
  'action.dispatch': '派警',
  'action.resolve': '解除',
  'action.cancel': '取消',
  'action.dismiss': '稍后处理',
  'note.title.ack': '确认报警',
  'note.title.dispatch': '派警',
  'note.title.resolve': '解除报警',
  'note.label': '处置说明（可选）',
  'note.placeholder': '例如：已电话联系学校值班室，保安已到场',
  'note.confirm': '提交',
  'note.busy': '提交中…',
  'error.conflict': '报警状态已变为「{state}」，请刷新后再操作',
  'error.forbidden': '当前账号无权执行此操作',
  'error.generic': '操作失败：{msg}',
  'popup.new': '新报警',
  'popup.escalated': '超时未确认 · 请立即处置',
  'popup.more': '另有 {n} 起待确认',
  'schools.heading': '学校概览',
  'summary.schools': '学校',
  'summary.devices': '设备在线',
  'summary.open': '未处置报警',
  'summary.escalated': '超时未确认',
  'legend.ok': '正常',
  'legend.degraded': '设备离线 {n} 校',
  'legend.alarm': '有报警',
  'ticker.heading': '动态',
  'ticker.none': '暂无动态',
  'ticker.deviceOffline': '{school} {device} 离线',
  'ticker.deviceOnline': '{school} {device} 恢复在线',
  'ticker.cameraOffline': '{school} 摄像头 {device} 掉线',
  'ticker.cameraOnline': '{school} 摄像头 {device} 恢复',
  'ticker.ai': '{school} 明厨亮灶：{kind}',
  'ticker.alarm': '{school} {kind} · {state}',
  'role.viewer': '观察员',
  'role.maintenance': '运维',
  'role.operator': '值班员',
  'role.admin': '管理员',
  'kind.panic': '一键报警',
  'kind.duress': '胁迫报警',
  'kind.intrusion': '入侵报警',
  'kind.fire': '火警',
  'kind.medical': '医疗急救',
  'kind.panic.sub': '紧急求助',
  'state.raised': '待确认',
  'state.acknowledged': '已确认',
  'state.dispatched': '已派警',
  'state.resolved': '已解除',
  'ai.no_hat': '未戴厨师帽',
  'ai.no_mask': '未戴口罩',
  'ai.no_uniform': '未穿工作服',
  'ai.rodent': '发现鼠患',
  'ai.smoking': '吸烟',
  'ai.phone': '玩手机',
  'ai.other': '其他异常',
  'zone.campus': '校园',
  'zone.dining': '就餐区',
  'zone.kitchen': '后厨',
  'zone.storage': '库房',
  'maint.heading': '设备运维',
  'maint.down': '当前离线',
  'maint.split': '一键报警 {b} · 摄像机 {c}',
  'maint.none': '没有离线的一键报警或摄像机',
  'maint.more': '另有 {n} 台未显示',
  'maint.downFor': '已离线 {d}',
  'maint.since': '{t} 起',
  'maint.flaps': '反复 ×{n}',
  'device.alarm_button': '一键报警',
  'device.camera': '摄像机',
  'device.gate': '门禁道闸',
  'device.checkin_terminal': '签到终端',
  'reason.silent': '失联',
  'reason.last_will': '离线',
  'reason.reported_down': '报告故障',
  'reason.never_seen': '从未上线',
  'uptime.heading': '在线率最低 · 近24小时',
  'uptime.zones': '分区在线率',
  'uptime.outages': '中断 {n} 次',
  'uptime.mttr': '平均修复 {d}',
  'uptime.allUp': '近24小时摄像机无中断',
  'uptime.loading': '正在读取在线率…',
  'uptime.unavailable': '在线率暂不可用',
  'uptime.export': '导出 CSV',
  'uptime.exportTitle': '下载近7天摄像机在线率（CSV）',
  'uptime.exporting': '导出中…',
  'uptime.exportFailed': '导出失败',
  'dur.s': '{s}秒',
  'dur.ms': '{m}分{s}秒',
  'dur.hm': '{h}小时{m}分',
  'dur.d': '{d}天{h}小时',
  'skew.ahead': '快 {d}',
  'skew.behind': '慢 {d}',
  'targets.heading': '六个100%',
  'targets.none': '等待目标数据…',
  'targets.schools': '{n} 校',
  'targets.cellLabel': '{name}：达标率 {rate}；达标 {met} 校，未达标 {notMet} 校，未知 {unknown} 校（共 {n} 校）。按回车查看未达标学校',
  'tshort.closed_campus': '封闭管理',
  'tshort.guard_posts': '护学岗',
  'tshort.security_guards': '专职保安',
  'tshort.hard_barriers': '硬隔离',
  'tshort.one_key_alarm': '一键报警',
  'tshort.video_networked': '视频联网',
  'status.met': '达标',
  'status.not_met': '未达标',
  'status.unknown': '未知',
  'drill.rate': '达标率 {rate}',
  'drill.notMet': '未达标',
  'drill.unknown': '未知 · 证据缺失或过期',
  'drill.allMet': '全部在范围内的学校均达标',
  'drill.noneInList': '无',
  'drill.loading': '正在读取…',
  'drill.error': '读取失败：{msg}',
  'drill.close': '关闭',
  'drill.back': '返回列表',
  'drill.reasons': '原因',
  'drill.evidence': '依据',
  'drill.noEvidence': '无依据记录',
  'drill.since': '{t} 起',
  'drill.staleAt': '证据有效至 {t}',
  'drill.school': '六项目标',
  'drill.outOfScope': '不在考核范围',
  'drill.photo': '检查照片',
  'drill.photoError': '照片无法读取',
  'drill.more': '另有 {n} 项',
  'drill.openSchool': '查看 {name} 的六项目标',
  'ev.checkin': '签到',
  'ev.gate': '校门',
  'ev.uplink': '联网上报',
  'ev.inspection': '检查记录',
  'ev.device': '设备',
  'ev.media': '照片',
} as const;

export type MsgKey = keyof typeof zh;

const en: Record<MsgKey, string> = {
  'app.title': 'Emergency Command Center',
  'app.subtitle': 'Campus Gateway',
  'login.heading': 'Duty sign-in',
  'login.user': 'User',
  'login.password': 'Password',
  'login.submit': 'Sign in',
  'login.busy': 'Signing in…',
  'login.failed': 'Wrong user name or password',
  'login.error': 'Cannot reach the gateway: {msg}',
  'login.expired': 'Session expired, please sign in again',
  'header.logout': 'Sign out',
  'conn.online': 'Connected',
  'conn.connecting': 'Connecting…',
  'conn.lost': 'Connection lost, reconnecting…',
  'conn.down': 'Disconnected',
  'conn.retry': 'retry in {s} s (attempt {n})',
  'export.lagging': 'History export behind by {n} min',
  'sound.enable': 'Click to enable sound',
  'sound.on': 'Sound on',
  'lang.toggle': '中文',
  'alarms.heading': 'Open alarms',
  'alarms.none': 'No open alarms',
  'alarms.test.heading': 'Test alarms',
  'alarms.test.none': 'none',
  'alarm.raisedAt': 'Raised',
  'alarm.elapsed': 'Elapsed',
  'alarm.device': 'Device',
  'alarm.place': 'Place',
  'alarm.zone': 'Zone',
  'alarm.escalated': 'Not acknowledged',
  'alarm.test': 'TEST',
  'alarm.clock': 'Device clock off by {d}',
  'alarm.lastBy': '{state} by {who}',
  'action.ack': 'Acknowledge',
  'action.dispatch': 'Dispatch',
  'action.resolve': 'Resolve',
  'action.cancel': 'Cancel',
  'action.dismiss': 'Later',
  'note.title.ack': 'Acknowledge alarm',
  'note.title.dispatch': 'Dispatch',
  'note.title.resolve': 'Resolve alarm',
  'note.label': 'Note (optional)',
  'note.placeholder': 'e.g. called the school duty room, guard on site',
  'note.confirm': 'Submit',
  'note.busy': 'Submitting…',
  'error.conflict': 'The alarm is now "{state}"; refresh and try again',
  'error.forbidden': 'Your account may not do this',
  'error.generic': 'Failed: {msg}',
  'popup.new': 'New alarm',
  'popup.escalated': 'Not acknowledged · act now',
  'popup.more': '{n} more waiting',
  'schools.heading': 'Schools',
  'summary.schools': 'Schools',
  'summary.devices': 'Devices online',
  'summary.open': 'Open alarms',
  'summary.escalated': 'Escalated',
  'legend.ok': 'normal',
  'legend.degraded': 'devices offline: {n}',
  'legend.alarm': 'alarm',
  'ticker.heading': 'Activity',
  'ticker.none': 'No recent events',
  'ticker.deviceOffline': '{school} {device} offline',
  'ticker.deviceOnline': '{school} {device} back online',
  'ticker.cameraOffline': '{school} camera {device} down',
  'ticker.cameraOnline': '{school} camera {device} back',
  'ticker.ai': '{school} kitchen AI: {kind}',
  'ticker.alarm': '{school} {kind} · {state}',
  'role.viewer': 'viewer',
  'role.maintenance': 'maintenance',
  'role.operator': 'operator',
  'role.admin': 'admin',
  'kind.panic': 'Panic',
  'kind.duress': 'Duress',
  'kind.intrusion': 'Intrusion',
  'kind.fire': 'Fire',
  'kind.medical': 'Medical',
  'kind.panic.sub': 'help call',
  'state.raised': 'Raised',
  'state.acknowledged': 'Acknowledged',
  'state.dispatched': 'Dispatched',
  'state.resolved': 'Resolved',
  'ai.no_hat': 'no chef hat',
  'ai.no_mask': 'no mask',
  'ai.no_uniform': 'no uniform',
  'ai.rodent': 'rodent',
  'ai.smoking': 'smoking',
  'ai.phone': 'phone use',
  'ai.other': 'other',
  'zone.campus': 'campus',
  'zone.dining': 'dining',
  'zone.kitchen': 'kitchen',
  'zone.storage': 'storage',
  'maint.heading': 'Maintenance',
  'maint.down': 'Down now',
  'maint.split': 'alarm buttons {b} · cameras {c}',
  'maint.none': 'No alarm button or camera offline',
  'maint.more': '+{n} more',
  'maint.downFor': 'down {d}',
  'maint.since': 'since {t}',
  'maint.flaps': 'flapping ×{n}',
  'device.alarm_button': 'Alarm button',
  'device.camera': 'Camera',
  'device.gate': 'Gate',
  'device.checkin_terminal': 'Check-in',
  'reason.silent': 'silent',
  'reason.last_will': 'offline',
  'reason.reported_down': 'reported down',
  'reason.never_seen': 'never seen',
  'uptime.heading': 'Worst cameras · 24 h',
  'uptime.zones': 'Uptime by zone',
  'uptime.outages': '{n} outages',
  'uptime.mttr': 'MTTR {d}',
  'uptime.allUp': 'No camera outages in 24 h',
  'uptime.loading': 'Loading uptime…',
  'uptime.unavailable': 'Uptime unavailable',
  'uptime.export': 'Export CSV',
  'uptime.exportTitle': 'Download camera uptime, last 7 days (CSV)',
  'uptime.exporting': 'Exporting…',
  'uptime.exportFailed': 'Export failed',
  'dur.s': '{s}s',
  'dur.ms': '{m}m {s}s',
  'dur.hm': '{h}h {m}m',
  'dur.d': '{d}d {h}h',
  'skew.ahead': '{d} ahead',
  'skew.behind': '{d} behind',
  'targets.heading': '6 × 100%',
  'targets.none': 'Waiting for target figures…',
  'targets.schools': '{n} schools',
  'targets.cellLabel': '{name}: {rate} met; {met} met, {notMet} not met, {unknown} unknown (of {n}). Press Enter for the schools that fail it',
  'tshort.closed_campus': 'Closed campus',
  'tshort.guard_posts': 'Guard posts',
  'tshort.security_guards': 'Guards',
  'tshort.hard_barriers': 'Barriers',
  'tshort.one_key_alarm': 'Panic buttons',
  'tshort.video_networked': 'Police video',
  'status.met': 'met',
  'status.not_met': 'not met',
  'status.unknown': 'unknown',
  'drill.rate': '{rate} met',
  'drill.notMet': 'Not met',
  'drill.unknown': 'Unknown · evidence missing or stale',
  'drill.allMet': 'Every school in scope meets it',
  'drill.noneInList': 'none',
  'drill.loading': 'Loading…',
  'drill.error': 'Could not load: {msg}',
  'drill.close': 'Close',
  'drill.back': 'Back to the list',
  'drill.reasons': 'Why',
  'drill.evidence': 'Evidence',
  'drill.noEvidence': 'no evidence on record',
  'drill.since': 'since {t}',
  'drill.staleAt': 'evidence good until {t}',
  'drill.school': 'Six targets',
  'drill.outOfScope': 'not in scope',
  'drill.photo': 'inspection photo',
  'drill.photoError': 'photo unavailable',
  'drill.more': '+{n} more',
  'drill.openSchool': "Show {name}'s six targets",
  'ev.checkin': 'check-in',
  'ev.gate': 'gate',
  'ev.uplink': 'uplink',
  'ev.inspection': 'inspection',
  'ev.device': 'device',
  'ev.media': 'photo',
};

const dicts: Record<Lang, Record<MsgKey, string>> = { zh, en };
const STORAGE_KEY = 'wall.lang';

let current: Lang = 'zh';

export function loadLang(storage: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): Lang {
  try {
    current = storage?.getItem(STORAGE_KEY) === 'en' ? 'en' : 'zh';
  } catch {
    current = 'zh';
  }
  return current;
}

export function setLang(lang: Lang, storage: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  current = lang;
  try {
    storage?.setItem(STORAGE_KEY, lang);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  if (typeof document !== 'undefined') document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

export const lang = (): Lang => current;

export function t(key: MsgKey, params?: Record<string, string | number>): string {
  const text = dicts[current][key] ?? zh[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** Translates a dynamic key (`kind.${x}`), falling back to the raw value for unknown ones. */
export function tk(prefix: 'kind' | 'state' | 'ai' | 'zone' | 'role' | 'device' | 'reason' | 'tshort' | 'status' | 'ev', value: string): string {
  const key = `${prefix}.${value}` as MsgKey;
  return key in zh ? t(key) : value;
}

export const stateLabel = (s: AlarmState): string => tk('state', s);
export const roleLabel = (r: Role): string => tk('role', r);

/** "3分12秒" / "3m 12s". */
export function duration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d > 0) return t('dur.d', { d, h });
  if (h > 0) return t('dur.hm', { h, m });
  if (m > 0) return t('dur.ms', { m, s: String(s).padStart(2, '0') });
  return t('dur.s', { s });
}

/** Wall clock and alarm times: 24-hour, local time of the command center. */
export function formatTime(iso: string | number | Date, withDate = false): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const pad = (n: number) => String(n).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (!withDate) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

const WEEKDAYS_ZH = ['星期日', '星期一', '星期二', '星期三', '星期四', '星期五', '星期六'];
const WEEKDAYS_EN = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
export function formatDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return current === 'zh' ? `${day} ${WEEKDAYS_ZH[d.getDay()]}` : `${WEEKDAYS_EN[d.getDay()]} ${day}`;
}
