/**
 * The demo county's canteens (明厨亮灶, contract §8), deterministic like the rest of the scenario:
 * what each canteen records on a school day, what its cameras' analytics see, which schools report
 * through a vendor's platform, whose canteen terminal sends their records over MQTT, and how each
 * rectification case is handled. The seed plays the past
 * of it, the simulator the rest on the real clock: same school, same day, same records and events.
 *
 * Records (学校食品安全与营养健康管理规定 2019): for every meal the school serves on a school day, a
 * sample of each of its 3–5 dishes (125–200 g, kept 48–72 h, with the meal's menu), the tableware
 * disinfected before serving, a leader eating with the students; every worker's morning check
 * before the shift (the first meal minus the policy's `shiftLeadMin`). Planned faults (CANTEEN_FAULTS).
 *
 * AI events (county-wide, per day): kitchens in the preparation windows before each meal get a few
 * attire incidents (no hat, mask, gloves…), a rodent in a storeroom some nights, a rare smoker, a
 * fire left unattended about once a fortnight. Each incident is 1–4 frames within two minutes (so
 * the gateway's dedupe shows) with confidences around the rule minimum, some under it.
 */
import type { CanteenRecord } from '../gateway/contract/canteen.js';
import type { AiKind, CanteenArea } from '../gateway/contract/mqtt.js';
import type { PolicyIndex } from '../gateway/policy.js';
import type { IndexedDevice, RegistryIndex } from '../gateway/registry.js';
import { hash, rng } from './scenario.js';

/** Planned record faults, each opening a case on the days it happens. */
export const CANTEEN_FAULTS = {
  /** The lunch soup's sample weighs 120 g, every school day. */
  underweight: { school: 'S031', meal: 'lunch', grams: 120 },
  /** No leader eats dinner with the boarders, every school day. */
  noAccompany: { school: 'S057', meal: 'dinner' },
  /** A worker with a fever at the morning check, one school day in three. */
  abnormalCheck: { school: 'S036', everyDays: 3 },
} as const;

/** The schools whose canteen analytics run on the vendor's platform (TrustIVS-style push over HTTP): one township's. */
export const VENDOR_REGION = '东关镇';
/**
 * The schools whose records their canteen terminal sends over MQTT (`{school}/{terminal}/record`,
 * contract §8) instead of `POST /api/canteen/records`: one other township's (北坪镇, with the
 * planned no-leader dinner of S057). Same records, same ids, same faults.
 */
export const TERMINAL_REGION = '北坪镇';

export interface PlannedRecord {
  atMs: number;
  school: string;
  body: CanteenRecord;
  /** The canteen terminal that sends it over MQTT (TERMINAL_REGION); absent: over HTTP. */
  device?: string;
}

export interface PlannedAi {
  atMs: number;
  school: string;
  device: string;
  kind: AiKind;
  /** 0..1 */
  confidence: number;
  /** Unique per frame; the vendor's record id for a vendor school. */
  id: string;
  /** Pushed by the vendor platform over HTTP (else the camera over MQTT). */
  vendor: boolean;
}

/** One step of a case's handling, when it is due. */
export interface CaseStep {
  action: 'notify' | 'start' | 'submit' | 'close' | 'reject';
  atMs: number;
  note?: string;
  measure?: string;
  /** `submit`: carries a photo. */
  photo?: boolean;
}

export interface CanteenScenario {
  /** A school's canteen records of one local day (none on other days than school days), in time order. */
  records(school: string, day: string): PlannedRecord[];
  /** The county's canteen AI frames of one local day, in time order. */
  ai(day: string): PlannedAi[];
  /** Is the school's analytics on the vendor platform? */
  vendorSchool(school: string): boolean;
  /** The canteen terminal that sends the school's records over MQTT (its first; TERMINAL_REGION), else undefined: HTTP. */
  recordTerminal(school: string): string | undefined;
  /** How a case is handled, from its id and opening time: the steps in order (some cases get none). */
  caseSteps(c: { id: string; openedAt: string; deadlineAt: string }): CaseStep[];
}

const MIN = 60_000;
const HOUR = 3_600_000;
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘';
const GIVEN = ['秀英', '桂兰', '玉梅', '建军', '国华', '春燕', '红梅', '志刚', '丽娟', '海燕', '德明', '凤英', '卫国', '淑珍', '金花'];
const DISHES: Record<string, string[]> = {
  breakfast: ['白粥', '馒头', '煮鸡蛋', '咸菜', '豆浆', '花卷', '油条'],
  lunch: ['红烧肉', '番茄炒蛋', '清炒时蔬', '米饭', '紫菜蛋花汤', '土豆丝', '麻婆豆腐', '冬瓜排骨汤'],
  dinner: ['鱼香肉丝', '蒜蓉青菜', '米饭', '西红柿鸡蛋面', '白菜炖粉条', '绿豆粥'],
};
const ATTIRE: [AiKind, number][] = [['no_hat', 35], ['no_mask', 30], ['no_gloves', 20], ['no_uniform', 10], ['phone', 5]];
const SYMPTOMS = ['发热', '腹泻', '手部皮肤伤口'];

export function createCanteenScenario(registry: RegistryIndex, policy: PolicyIndex): CanteenScenario {
  const cams = [...registry.devices.values()].filter((d) => d.kind === 'camera' && d.canteen && d.area);
  const inArea = (areas: readonly CanteenArea[]) => cams.filter((d) => areas.includes(d.area!));
  const num = (school: string) => school.replace(/\D/g, '').padStart(3, '0');
  const vendorSchool = (school: string) => registry.schools.get(school)?.region === VENDOR_REGION;
  const terminals = new Map<string, string>();
  for (const d of [...registry.devices.values()].sort((a, b) => (a.id < b.id ? -1 : 1)))
    if (d.kind === 'canteen_terminal' && !terminals.has(d.school) && registry.schools.get(d.school)?.region === TERMINAL_REGION) terminals.set(d.school, d.id);
  const recordTerminal = (school: string) => terminals.get(school);

  /** A canteen's people, stable per school: workers (2–6 by size), the sample keeper is the first, leaders on rota. */
  function staff(school: string) {
    const s = registry.schools.get(school)!;
    const r = rng(`canteen-staff|${school}`);
    const n = Math.min(6, 2 + Math.floor((s.students + (s.boarders ?? 0)) / 600));
    const used = new Set<string>();
    const name = () => {
      for (;;) {
        const x = SURNAMES[Math.floor(r() * SURNAMES.length)] + GIVEN[Math.floor(r() * GIVEN.length)];
        if (!used.has(x)) return used.add(x), x;
      }
    };
    const workers = Array.from({ length: n }, name);
    const leaders = [`${name()}（校长）`, `${name()}（副校长）`, `${name()}（后勤主任）`];
    return { workers, leaders };
  }

  function records(school: string, day: string): PlannedRecord[] {
    if (!policy.isSchoolDay(day)) return [];
    const meals = policy.mealsFor(school);
    if (!meals.length) return [];
    const s = registry.schools.get(school)!;
    const canteen = s.canteens?.[0]?.id;
    const start = policy.dayStartMs(day);
    const r = rng(`canteen-day|${school}|${day}`);
    const k = Math.round(start / 86_400_000);
    const { workers, leaders } = staff(school);
    const device = recordTerminal(school);
    const out: PlannedRecord[] = [];
    // Times on the wire: local ISO-8601 with the county's offset, as a school's record system sends them.
    const local = (ms: number) => new Date(Math.round(ms) + policy.offsetMs).toISOString().replace('Z', policy.policy.utcOffset);
    const whole = (b: Record<string, unknown>) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, ['at', 'takenAt', 'keptUntil'].includes(k) ? local(v as number) : v]));
    const add = (atMs: number, body: Record<string, unknown>, id: string) =>
      out.push({ atMs: Math.round(atMs), school, body: { school, ...(canteen ? { canteen } : {}), id: `demo-${school}-${day}-${id}`, ...whole(body) } as CanteenRecord, ...(device ? { device } : {}) });
    const shiftMin = meals[0].fromMin - policy.canteen.records.shiftLeadMin;
    const sick = school === CANTEEN_FAULTS.abnormalCheck.school && k % CANTEEN_FAULTS.abnormalCheck.everyDays === 0;
    workers.forEach((person, i) => {
      const atMs = start + (shiftMin - 25 + r() * 20) * MIN;
      const abnormal = sick && i === workers.length - 1;
      add(atMs, { kind: 'morning_check', person, result: abnormal ? 'abnormal' : 'normal', ...(abnormal ? { symptom: SYMPTOMS[k % SYMPTOMS.length] } : {}), at: atMs }, `mc${i}`);
    });
    for (const m of meals) {
      const from = start + m.fromMin * MIN;
      const to = start + m.toMin * MIN;
      const pool = [...DISHES[m.id] ?? DISHES.lunch];
      const menu = Array.from({ length: Math.min(pool.length, 3 + Math.floor(r() * 3)) }, () => pool.splice(Math.floor(r() * pool.length), 1)[0]);
      const dAt = from - (15 + r() * 20) * MIN;
      add(dAt, { kind: 'disinfection', what: '餐具、餐盘', method: '高温消毒柜 120℃ 30 分钟', meal: m.id, at: dAt, person: workers[workers.length > 1 ? 1 : 0] }, `dis-${m.id}`);
      menu.forEach((dish, j) => {
        const taken = from - (10 - j) * MIN + r() * 5 * MIN;
        const under = school === CANTEEN_FAULTS.underweight.school && m.id === CANTEEN_FAULTS.underweight.meal && j === menu.length - 1;
        const grams = under ? CANTEEN_FAULTS.underweight.grams : 125 + Math.round(r() * 75);
        add(taken, { kind: 'sample', dish, meal: m.id, grams, takenAt: taken, keptUntil: taken + (48 + Math.round(r() * 24)) * HOUR, person: workers[0], menu }, `s-${m.id}-${j}`);
      });
      if (!(school === CANTEEN_FAULTS.noAccompany.school && m.id === CANTEEN_FAULTS.noAccompany.meal)) {
        const aAt = from + (5 + r() * 20) * MIN;
        add(Math.min(aAt, to), { kind: 'accompany', leader: leaders[(k + m.fromMin) % leaders.length], meal: m.id, at: Math.min(aAt, to) }, `acc-${m.id}`);
      }
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  function ai(day: string): PlannedAi[] {
    const start = policy.dayStartMs(day);
    const r = rng(`canteen-ai|${day}`);
    const out: PlannedAi[] = [];
    let n = 0;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
    const weighted = (t: [AiKind, number][]) => {
      let x = r() * t.reduce((a, [, w]) => a + w, 0);
      for (const [v, w] of t) if ((x -= w) < 0) return v;
      return t[0][0];
    };
    /** An incident: 1–4 frames of one thing on one camera within two minutes, confidences around the rule's minimum. */
    const incident = (device: IndexedDevice | undefined, kind: AiKind, fromMin: number, toMin: number) => {
      if (!device) return;
      const t0 = start + (fromMin + r() * (toMin - fromMin)) * MIN;
      const base = 0.5 + r() * 0.45;
      const frames = 1 + Math.floor(r() * 4);
      const incidentNo = n++;
      for (let f = 0; f < frames; f++) {
        const confidence = Math.round(Math.min(0.99, Math.max(0.3, base + (r() - 0.5) * 0.1)) * 100) / 100;
        const id = `${day.replace(/-/g, '')}${String(hash(device.id) % 100000).padStart(5, '0')}AI${String(incidentNo).padStart(3, '0')}${f}`;
        out.push({ atMs: Math.round(t0 + f * (20 + r() * 20) * 1000), school: device.school, device: device.id, kind, confidence, id, vendor: vendorSchool(device.school) });
      }
    };
    const school = policy.isSchoolDay(day);
    const kitchens = inArea(['processing', 'special_room', 'serving']);
    if (school)
      for (const m of policy.canteen.meals) {
        // The preparation window: 90 minutes before serving until it ends; fewer cooks at breakfast and dinner.
        const count = Math.floor((m.id === 'lunch' ? 3 : 1) + r() * 3);
        const [fh, fm] = m.from.split(':').map(Number);
        const [th, tm] = m.to.split(':').map(Number);
        for (let i = 0; i < count; i++) {
          const kind = weighted(ATTIRE);
          const where = kind === 'no_gloves' ? inArea(['special_room', 'serving']) : kitchens;
          incident(pick(where), kind, fh * 60 + fm - 90, th * 60 + tm);
        }
      }
    // A rodent in a storeroom at night, most nights somewhere in the county.
    if (r() < 0.7) incident(pick(inArea(['storage'])), 'rodent', 22 * 60, 24 * 60 - 3);
    if (r() < 0.4) incident(pick(inArea(['storage'])), 'rodent', 0, 4 * 60);
    // The occasional smoker by the back door of the kitchen, after lunch.
    if (school && r() < 0.5) incident(pick(inArea(['processing', 'washing', 'storage'])), 'smoking', 13 * 60, 15 * 60);
    if (school && r() < 0.3) incident(pick(inArea(['processing', 'washing', 'serving'])), 'bin_uncovered', 13 * 60, 16 * 60);
    // A pan left on the fire: about once a fortnight.
    if (school && r() < 0.07) incident(pick(inArea(['processing'])), 'fire_unattended', 10 * 60 + 30, 11 * 60 + 30);
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  /**
   * How a case is handled (by its id, so seed and simulator agree): about one in six is left alone
   * (it goes overdue), the others are notified within the hour and started by the school; most are
   * submitted with a photo and a measure within hours and closed by the center; some are sent back
   * once and submitted again; a few stall at notified, rectifying or submitted.
   */
  function caseSteps(c: { id: string; openedAt: string }): CaseStep[] {
    const r = rng(`case|${c.id}`);
    const fate = r();
    if (fate < 0.16) return [];
    let t = Date.parse(c.openedAt) + (5 + r() * 50) * MIN;
    const steps: CaseStep[] = [{ action: 'notify', atMs: t, note: '已推送学校食品安全员、校长' }];
    if (fate < 0.24) return steps;
    steps.push({ action: 'start', atMs: (t += (10 + r() * 80) * MIN), note: '已安排整改' });
    if (fate < 0.32) return steps;
    const measure = '已对当班人员进行批评教育并现场纠正，重新培训食品安全操作规范，责任人签字确认';
    steps.push({ action: 'submit', atMs: (t += (0.5 + r() * 4) * HOUR), measure, photo: true, note: '整改完成，请验收' });
    if (fate < 0.4) return steps;
    if (fate < 0.55) {
      steps.push({ action: 'reject', atMs: (t += (0.5 + r() * 3) * HOUR), note: '照片未体现整改后情况，请补充现场照片' });
      steps.push({ action: 'submit', atMs: (t += (0.5 + r() * 3) * HOUR), measure: `${measure}；已补拍整改后现场照片`, photo: true, note: '已补充照片' });
      if (fate < 0.47) return steps;
    }
    steps.push({ action: 'close', atMs: (t += (0.5 + r() * 4) * HOUR), note: '验收通过' });
    return steps;
  }

  return { records, ai, vendorSchool, recordTerminal, caseSteps };
}
