/**
 * The six rules of contract §7, one pure function each: a school's facts and the county's
 * thresholds in, a verdict out. `unknown` when the evidence is missing or stale, never counted as
 * met; `not_met` as soon as a failure is certain (a peak window that ended short of people counts
 * the same minute, not tomorrow).
 *
 * The day-based rules judge the last complete school day (`judged`) and add the failures already
 * certain today (`today`); met needs the whole judged day.
 */
import type { Policy, TargetId } from '../../contract/policy.js';
import { GATEHOUSE_POST } from '../../contract/registry.js';
import type { Checkin, DayFacts, Opening, Reason, SchoolFacts, Status, Verdict, Window } from './facts.js';

type Thresholds = Policy['targets'];
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** Collects one rule's findings: the worst status wins (not_met over unknown over met). */
class Findings {
  private failed = false;
  private missing = false;
  readonly reasons: Reason[] = [];
  readonly evidence = new Set<string>();
  private stale: number | null = null;

  fail(zh: string, en: string): void {
    this.failed = true;
    this.reasons.push({ zh, en });
  }
  unknown(zh: string, en: string): void {
    this.missing = true;
    this.reasons.push({ zh, en });
  }
  cite(...refs: (string | undefined)[]): void {
    for (const r of refs) if (r) this.evidence.add(r);
  }
  /** The verdict may change at `ms` without new input. */
  staleAt(ms: number | undefined): void {
    if (ms !== undefined && (this.stale === null || ms < this.stale)) this.stale = ms;
  }
  verdict(): Verdict {
    const status: Status = this.failed ? 'not_met' : this.missing ? 'unknown' : 'met';
    return { status, reasons: this.reasons, evidence: [...this.evidence], staleAt: this.stale };
  }
}

const hhmm = (minute: number) => `${String(Math.floor(minute / 60) % 24).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const dateOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const isCheckinDay = (d: DayFacts) => Object.values(d.checkins).some((c) => c.length > 0);
const ageDays = (nowMs: number, atMs: number) => Math.floor((nowMs - atMs) / DAY_MS);

/** The judged day, or an unknown finding saying there is none. */
function judgedDay(f: SchoolFacts, out: Findings): DayFacts | undefined {
  if (!f.judged) {
    out.unknown('尚无已结束的上学日记录', 'no complete school day recorded yet');
    return undefined;
  }
  out.staleAt(f.judgedUntilMs);
  return f.judged;
}

/** Minutes of an opening that fall outside every open window, as the longest continuous stretch. */
export function longestOutside(o: Opening, open: readonly Window[]): { from: number; minutes: number } {
  let best = { from: o.from, minutes: 0 };
  let runStart = -1;
  for (let m = o.from; m <= o.to; m++) {
    const outside = m < o.to && !open.some((w) => m >= w.from && m < w.to);
    if (outside && runStart < 0) runStart = m;
    if (!outside && runStart >= 0) {
      if (m - runStart > best.minutes) best = { from: runStart, minutes: m - runStart };
      runStart = -1;
    }
  }
  return best;
}

export function closedCampus(f: SchoolFacts, t: Thresholds['closed_campus']): Verdict {
  const out = new Findings();
  const p = f.perimeter;
  if (!p) out.unknown('无围墙（周界）检查记录', 'no perimeter inspection on record');
  else {
    out.cite(`inspection:${p.id}`);
    const age = ageDays(f.nowMs, p.atMs);
    if (p.result === 'fail') out.fail(`${dateOf(p.atMs)} 周界检查未通过`, `perimeter inspection of ${dateOf(p.atMs)} failed`);
    else if (age > t.perimeterInspectionMaxAgeDays) out.unknown(`周界检查已 ${age} 天（超过 ${t.perimeterInspectionMaxAgeDays} 天）`, `perimeter inspection is ${age} days old (over ${t.perimeterInspectionMaxAgeDays})`);
    else out.staleAt(p.atMs + (t.perimeterInspectionMaxAgeDays + 1) * DAY_MS);
  }

  const gateName = new Map(f.school.gates.map((g) => [g.id, g.name]));
  const gatesOpenTooLong = (d: DayFacts) => {
    for (const [gate, openings] of Object.entries(d.openings))
      for (const o of openings) {
        const run = longestOutside(o, f.windows.open);
        if (run.minutes > t.gateOpenGraceMin) {
          out.fail(`${d.day} ${gateName.get(gate) ?? gate} 在开放时段外敞开 ${run.minutes} 分钟（${hhmm(run.from)} 起，限 ${t.gateOpenGraceMin} 分钟）`, `${d.day}: gate ${gate} stood open ${run.minutes} min outside the open windows (from ${hhmm(run.from)}; limit ${t.gateOpenGraceMin})`);
          out.cite(o.ref);
        }
      }
  };
  const slotMin = t.gatehouseSlotHours * 60;
  const gatehouseGaps = (d: DayFacts, untilMinute: number) => {
    const seen = d.checkins[GATEHOUSE_POST]?.filter((c) => c.role === 'guard') ?? [];
    for (let from = 0; from + slotMin <= untilMinute; from += slotMin) {
      const inSlot = seen.filter((c) => c.minute >= from && c.minute < from + slotMin);
      if (inSlot.length === 0) out.fail(`${d.day} ${hhmm(from)}–${hhmm(from + slotMin)} 门卫室无保安签到`, `${d.day} ${hhmm(from)}–${hhmm(from + slotMin)}: no guard checked in at the gatehouse`);
      else out.cite(inSlot[0].ref);
    }
  };

  const j = judgedDay(f, out);
  if (j) {
    gatesOpenTooLong(j);
    if (isCheckinDay(j)) gatehouseGaps(j, 24 * 60);
    else out.unknown(`${j.day} 无任何签到数据`, `no check-in data at all on ${j.day}`);
  }
  if (f.today) {
    gatesOpenTooLong(f.today);
    if (isCheckinDay(f.today)) gatehouseGaps(f.today, f.today.nowMinute);
  }
  return out.verdict();
}

/** Distinct people of the allowed roles at a post during a window (no person id: each check-in counts once). */
function peopleAt(checkins: readonly Checkin[], w: Window, roles: readonly string[]): Checkin[] {
  const byPerson = new Map<string, Checkin>();
  for (const c of checkins) if (c.minute >= w.from && c.minute < w.to && roles.includes(c.role)) byPerson.set(c.person ?? c.ref, c);
  return [...byPerson.values()];
}

export function guardPosts(f: SchoolFacts, t: Thresholds['guard_posts']): Verdict {
  const out = new Findings();
  const posts = f.school.gates.flatMap((g) => g.posts.map((post) => ({ post, gate: g.name })));
  if (posts.length === 0) {
    out.unknown('登记信息中没有校门护学岗', 'no gate posts in the registry');
    return out.verdict();
  }
  const judge = (d: DayFacts, untilMinute: number) => {
    for (const w of f.windows.peaks) {
      if (w.to > untilMinute) continue;
      for (const { post, gate } of posts) {
        const people = peopleAt(d.checkins[post] ?? [], w, t.roles);
        out.cite(...people.map((c) => c.ref));
        if (people.length < t.minPeoplePerPost)
          out.fail(`${d.day} ${w.name}（${hhmm(w.from)}–${hhmm(w.to)}）护学岗：${gate} ${post} ${people.length} 人签到，需 ${t.minPeoplePerPost} 人`, `${d.day} ${w.nameEn ?? w.id} peak (${hhmm(w.from)}–${hhmm(w.to)}): post ${post} had ${people.length} people checked in, needs ${t.minPeoplePerPost}`);
      }
    }
  };
  const j = judgedDay(f, out);
  if (j) {
    if (isCheckinDay(j)) judge(j, 24 * 60);
    else out.unknown(`${j.day} 无任何签到数据`, `no check-in data at all on ${j.day}`);
  }
  if (f.today && isCheckinDay(f.today)) judge(f.today, f.today.nowMinute);
  return out.verdict();
}

/** Guards a school needs (contract §7): the base, one per further `studentsPerExtra` above the threshold (or part), one per `boardersPerExtra` boarders (or part). */
export function requiredGuards(students: number, boarders: number, t: Thresholds['security_guards']): number {
  const forStudents = students > t.studentsThreshold ? Math.ceil((students - t.studentsThreshold) / t.studentsPerExtra) : 0;
  return t.base + forStudents + Math.ceil(boarders / t.boardersPerExtra);
}

export function securityGuards(f: SchoolFacts, t: Thresholds['security_guards']): Verdict {
  const out = new Findings();
  const need = requiredGuards(f.school.students, f.school.boarders, t);
  if (f.guards.length === 0) out.unknown('未登记持证保安', 'no licensed guards on file');
  const j = judgedDay(f, out);
  if (!j || f.guards.length === 0) return out.verdict();
  if (!isCheckinDay(j)) {
    out.unknown(`${j.day} 无任何签到数据`, `no check-in data at all on ${j.day}`);
    return out.verdict();
  }
  const onFile = new Map(f.guards.map((g) => [g.person, g]));
  const counted = new Set<string>();
  const notOnFile = new Set<string>();
  const lapsed = new Map<string, string>();
  for (const c of Object.values(j.checkins).flat()) {
    if (c.role !== 'guard' || !c.person || counted.has(c.person)) continue;
    const g = onFile.get(c.person);
    if (!g) notOnFile.add(c.person);
    else if (g.licenceExpires < j.day) lapsed.set(g.name, g.licenceExpires);
    else {
      counted.add(c.person);
      out.cite(c.ref);
    }
  }
  // Only licensed guards count; the others are named only when the school falls short.
  if (counted.size < need) {
    out.fail(`${j.day} 在岗持证保安 ${counted.size} 人，应配 ${need} 人（学生 ${f.school.students}、住校生 ${f.school.boarders}）`, `${j.day}: ${counted.size} licensed guards on duty, ${need} required (${f.school.students} students, ${f.school.boarders} boarders)`);
    for (const [name, expired] of lapsed) out.fail(`保安 ${name} 的保安员证已于 ${expired} 过期，不计入`, `guard ${name}'s licence expired on ${expired}: not counted`);
    if (notOnFile.size > 0) out.fail(`${notOnFile.size} 人以保安身份签到但未登记（${[...notOnFile].slice(0, 3).join('、')}），不计入`, `${notOnFile.size} people checked in as guards but are not on file (${[...notOnFile].slice(0, 3).join(', ')}): not counted`);
  }
  // A licence that lapses while the verdict stands.
  for (const g of f.guards) if (counted.has(g.person)) out.staleAt(Date.parse(`${g.licenceExpires}T00:00:00Z`) + DAY_MS);
  return out.verdict();
}

export function hardBarriers(f: SchoolFacts, t: Thresholds['hard_barriers']): Verdict {
  const out = new Findings();
  if (f.school.gates.length === 0) out.unknown('登记信息中没有校门', 'no gates in the registry');
  for (const g of f.school.gates) {
    const i = f.barriers[g.id];
    if (!i) {
      out.unknown(`${g.name} 无硬隔离检查记录`, `no barrier inspection of gate ${g.id}`);
      continue;
    }
    out.cite(`inspection:${i.id}`, i.photo && `media:${i.photo}`);
    const age = ageDays(f.nowMs, i.atMs);
    if (i.result === 'fail') out.fail(`${g.name} 硬隔离检查未通过（${dateOf(i.atMs)}）`, `gate ${g.id}: barrier inspection of ${dateOf(i.atMs)} failed`);
    else if (t.photoRequired && !i.photo) out.unknown(`${g.name} 硬隔离检查无照片（${dateOf(i.atMs)}）`, `gate ${g.id}: barrier inspection of ${dateOf(i.atMs)} has no photo`);
    else if (age > t.inspectionMaxAgeDays) out.unknown(`${g.name} 硬隔离检查已 ${age} 天（超过 ${t.inspectionMaxAgeDays} 天）`, `gate ${g.id}: barrier inspection is ${age} days old (over ${t.inspectionMaxAgeDays})`);
    else out.staleAt(i.atMs + (t.inspectionMaxAgeDays + 1) * DAY_MS);
  }
  return out.verdict();
}

/** Devices never heard from, as one reason (a new school's 40 cameras are one fact, not 40). */
function neverSeen(out: Findings, devices: readonly { id: string; online?: boolean }[], what: { zh: string; unit: string; en: string }): void {
  const ids = devices.filter((d) => d.online === undefined).map((d) => d.id);
  if (ids.length === 0) return;
  const list = ids.length <= 3 ? ids.join('、') : `${ids.slice(0, 3).join('、')} 等`;
  const listEn = ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')}, …`;
  out.unknown(`${ids.length} ${what.unit}${what.zh}从未上线（${list}）`, `${ids.length} ${what.en}${ids.length > 1 ? 's' : ''} never heard from (${listEn})`);
}

/** A device down for longer than allowed fails; one down for less says when it will. */
function downTooLong(out: Findings, d: { id: string; online?: boolean; downSinceMs?: number }, nowMs: number, maxDownHours: number, what: { zh: string; en: string }): void {
  if (d.online === undefined || d.online || d.downSinceMs === undefined) return;
  out.cite(`device:${d.id}`);
  const deadline = d.downSinceMs + maxDownHours * HOUR_MS;
  const hours = Math.floor((nowMs - d.downSinceMs) / HOUR_MS);
  if (nowMs >= deadline) out.fail(`${what.zh} ${d.id} 已离线 ${hours} 小时（须 ${maxDownHours} 小时内修复）`, `${what.en} ${d.id} has been down ${hours} h (repair within ${maxDownHours} h)`);
  else out.staleAt(deadline);
}

export function oneKeyAlarm(f: SchoolFacts, t: Thresholds['one_key_alarm']): Verdict {
  const out = new Findings();
  if (f.buttons.length === 0) out.fail('未登记一键报警装置', 'no one-key alarm button in the registry');
  neverSeen(out, f.buttons, { zh: '一键报警', unit: '个', en: 'alarm button' });
  const untested = f.buttons.filter((b) => b.lastTestMs === undefined).map((b) => b.id);
  if (untested.length > 0) out.unknown(`${untested.length} 个一键报警无测试记录（${untested.slice(0, 3).join('、')}${untested.length > 3 ? ' 等' : ''}）`, `${untested.length} alarm button(s) with no test press on record (${untested.slice(0, 3).join(', ')}${untested.length > 3 ? ', …' : ''})`);
  for (const b of f.buttons) {
    downTooLong(out, b, f.nowMs, t.maxDownHours, { zh: '一键报警', en: 'alarm button' });
    if (b.lastTestMs === undefined) continue;
    const age = ageDays(f.nowMs, b.lastTestMs);
    if (f.nowMs - b.lastTestMs > t.testPressMaxAgeDays * DAY_MS)
      out.fail(`一键报警 ${b.id} 上次测试在 ${age} 天前（须每 ${t.testPressMaxAgeDays} 天内）`, `alarm button ${b.id}: last test press ${age} days ago (due every ${t.testPressMaxAgeDays} days)`);
    else out.staleAt(b.lastTestMs + t.testPressMaxAgeDays * DAY_MS + 1);
  }
  return out.verdict();
}

export function videoNetworked(f: SchoolFacts, t: Thresholds['video_networked']): Verdict {
  const out = new Findings();
  if (f.cameras.length === 0) out.fail('未登记摄像机', 'no cameras in the registry');
  neverSeen(out, f.cameras, { zh: '摄像机', unit: '台', en: 'camera' });
  for (const c of f.cameras) downTooLong(out, c, f.nowMs, t.maxDownHours, { zh: '摄像机', en: 'camera' });
  const covered = new Set(f.cameras.flatMap((c) => c.covers));
  for (const place of t.requiredPlaces)
    if (!covered.has(place)) out.fail(`重点部位 ${PLACE_ZH[place] ?? place} 无摄像机覆盖`, `required place ${place} has no camera`);
  if (f.nvrs.length === 0) out.fail('未登记硬盘录像机/视频平台（NVR）', 'no NVR in the registry');
  const latest = f.nvrs.map((n) => n.uplink).filter((u) => u !== undefined).sort((a, b) => b.atMs - a.atMs)[0];
  if (f.nvrs.length > 0) {
    if (!latest) out.unknown('无公安联网状态上报', 'no police uplink report yet');
    else {
      out.cite(latest.ref);
      const ageMin = Math.floor((f.nowMs - latest.atMs) / 60_000);
      if (!latest.up) out.fail('公安视频联网中断', 'the police video uplink is down');
      else if (f.nowMs - latest.atMs > t.uplinkMaxAgeMin * 60_000) out.unknown(`公安联网状态 ${ageMin} 分钟未上报（须 ${t.uplinkMaxAgeMin} 分钟内）`, `police uplink last reported ${ageMin} min ago (due within ${t.uplinkMaxAgeMin})`);
      else out.staleAt(latest.atMs + t.uplinkMaxAgeMin * 60_000 + 1);
    }
  }
  return out.verdict();
}

const PLACE_ZH: Record<string, string> = { gate_inside: '校门内', gate_outside: '校门外', gatehouse: '门卫室', canteen_kitchen: '食堂后厨', canteen_entrance: '食堂出入口', gathering: '人员聚集区', corridor: '走廊', dormitory_entrance: '宿舍出入口', kindergarten_room: '幼儿活动室', perimeter: '周界' };

/** Every rule by target id, in the contract's order. */
export const RULES: { [K in TargetId]: (f: SchoolFacts, t: Thresholds[K]) => Verdict } = {
  closed_campus: closedCampus,
  guard_posts: guardPosts,
  security_guards: securityGuards,
  hard_barriers: hardBarriers,
  one_key_alarm: oneKeyAlarm,
  video_networked: videoNetworked,
};

export const TARGET_NAMES: Record<TargetId, { zh: string; en: string }> = {
  closed_campus: { zh: '校园封闭化管理', en: 'Closed campus' },
  guard_posts: { zh: '家长护学岗', en: 'Guard posts at the gates' },
  security_guards: { zh: '专职保安配备', en: 'Full-time security guards' },
  hard_barriers: { zh: '硬隔离设施', en: 'Hard physical barriers' },
  one_key_alarm: { zh: '一键报警', en: 'One-key alarm' },
  video_networked: { zh: '视频监控与公安机关联网', en: 'Video networked with the police' },
};
