/**
 * The demo county's day, deterministic (issue 10): what each school's devices say about the
 * 6 × 100% targets on any local day, who the people are, and which schools fail which target on
 * purpose. The simulator plays it live on the real clock; the demo seed (`scripts/seed.ts`) plays
 * the past 30 days of it through the gateway's real inputs. Same school, same day: same events.
 *
 * Times are the county's local time (policy `utcOffset`); school days, open windows and peaks come
 * from the policy (per school where it has its own).
 *
 * Every school, every day:
 * - the 门卫室 (post `gatehouse`): one guard round in every 2-hour slot, round the clock, by the
 *   school's guards in turn (person = licence id);
 * - the NVR reports its police uplink at 23:5x, the day's last report (the live simulator adds a
 *   keepalive every few minutes; the history keeps one a day, which is what a past day is judged on).
 * On school days:
 * - every guard on file reports on duty at the gatehouse (day shift 06:00–06:50, night shift 18:00–18:50);
 * - every gate post (registry `gates[].posts`) is staffed in each peak by a guard and a parent
 *   volunteer or teacher, a third person (police at the main gate, else a teacher) about a third of
 *   the time; a post without its own terminal checks in at its gate's terminal (or the gatehouse's);
 * - each gate controller opens at the start of each open window and closes just before its end.
 * Each alarm button is test-pressed monthly: once in the last 28 days and 30 days before that (`testPresses`).
 * Perimeter and barrier inspections passed 35–105 days ago (before the 30 days of history), with a photo.
 *
 * The failures (FAILURES), at fixed schools:
 * - S005 closed_campus: the side gate is opened again 18:10 and left open until about 19:05 every school day;
 * - S012 guard_posts: post side-1 has only its guard in the afternoon peak every school day;
 * - S008 security_guards: exactly the guards it needs on file, one of whose licences lapsed 9 days ago
 *   (the list recorded 45 days ago, when it was valid);
 * - S015 hard_barriers: the main gate's barrier inspection is 155 days old (stale: unknown);
 * - S018 video_networked: the NVR has reported its police uplink down since two days ago.
 */
import type { PolicyIndex } from '../gateway/policy.js';
import type { RegistryIndex, IndexedDevice } from '../gateway/registry.js';
import type { RegistrySchool } from '../gateway/contract/registry.js';
import type { CheckinRole } from '../gateway/contract/mqtt.js';
import { requiredGuards } from '../gateway/modules/targets/rules.js';
import { createCanteenScenario, type CanteenScenario } from './canteen-scenario.js';

export const FAILURES = {
  gateLeftOpen: { school: 'S005', gate: 'side', target: 'closed_campus' },
  shortPost: { school: 'S012', post: 'side-1', peak: 'afternoon', target: 'guard_posts' },
  lapsedLicence: { school: 'S008', lapsedDaysAgo: 9, target: 'security_guards' },
  staleBarrier: { school: 'S015', gate: 'main', ageDays: 155, target: 'hard_barriers' },
  uplinkDown: { school: 'S018', sinceDaysAgo: 2, target: 'video_networked' },
} as const;

/** When each school's guard list is recorded (`PUT …/guards?at=`): before the history starts. */
export const GUARDS_RECORDED_DAYS_AGO = 45;

export interface PlannedEvent {
  atMs: number;
  school: string;
  device: string;
  /** `record`: a canteen terminal's record (its payload the whole body: no `ts`). */
  type: 'checkin' | 'gate' | 'uplink' | 'alarm' | 'ai' | 'record';
  payload: Record<string, unknown>;
}

export interface GuardRecord {
  person: string;
  name: string;
  licence: string;
  licenceExpires: string;
}

export interface PlannedInspection {
  school: string;
  item: 'perimeter' | 'barrier';
  gate?: string;
  result: 'pass' | 'fail';
  atMs: number;
  note: string;
}

const DAY_MS = 86_400_000;
const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const GIVEN = ['伟', '强', '军', '勇', '杰', '涛', '斌', '超', '明', '刚', '平', '辉', '建国', '建华', '志强', '海军', '国庆', '红兵', '卫东', '德胜'];

/** FNV-1a: a stable 32-bit hash of a string. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A small deterministic random generator (mulberry32), seeded by a string. */
export function rng(seed: string): () => number {
  let a = hash(seed);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Scenario {
  registry: RegistryIndex;
  policy: PolicyIndex;
  /** The guards a school has on file (person = licence id), as recorded GUARDS_RECORDED_DAYS_AGO before `nowMs`. */
  guards(school: string, nowMs: number): GuardRecord[];
  /** A school's perimeter and barrier inspections: passed, 35–105 days ago (S015's main barrier: 155 days ago). */
  inspections(school: string, nowMs: number): PlannedInspection[];
  /** What a school's gates, check-in terminals and NVR say on one local day, in time order. */
  dayEvents(school: string, day: string, nowMs: number): PlannedEvent[];
  /** Each alarm button's monthly test presses: one within the 28 days before `nowMs`, one 30 days before that. */
  testPresses(nowMs: number, schools?: readonly string[]): PlannedEvent[];
  /** Is the school's police uplink down at this instant (S018 since two days before `nowMs`… of the run)? */
  uplinkUp(school: string, atMs: number, nowMs: number): boolean;
  /** The canteens: records, AI events, the vendor's schools, how cases are handled (`canteen-scenario.ts`). */
  canteen: CanteenScenario;
}

export function createScenario(registry: RegistryIndex, policy: PolicyIndex): Scenario {
  const devicesOf = (school: string, kind: string): IndexedDevice[] => [...registry.devices.values()].filter((d) => d.school === school && d.kind === kind);
  const cache = new Map<string, { gatehouse?: IndexedDevice; terminals: IndexedDevice[]; gates: IndexedDevice[]; nvrs: IndexedDevice[]; buttons: IndexedDevice[] }>();
  const devices = (school: string) => {
    let c = cache.get(school);
    if (!c) {
      const terminals = devicesOf(school, 'checkin_terminal');
      c = { gatehouse: terminals.find((t) => t.post === 'gatehouse'), terminals, gates: devicesOf(school, 'gate'), nvrs: devicesOf(school, 'nvr'), buttons: devicesOf(school, 'alarm_button') };
      cache.set(school, c);
    }
    return c;
  };
  const schoolOf = (id: string): RegistrySchool => registry.schools.get(id)!;
  const num = (school: string) => school.replace(/\D/g, '').padStart(3, '0');
  const guardsCache = new Map<string, GuardRecord[]>();

  function guards(school: string, nowMs: number): GuardRecord[] {
    const key = `${school}|${policy.localDay(nowMs)}`;
    const hit = guardsCache.get(key);
    if (hit) return hit;
    const s = schoolOf(school);
    const need = requiredGuards(s.students, s.boarders ?? 0, policy.target('security_guards'));
    const lapsed = school === FAILURES.lapsedLicence.school;
    const r = rng(`guards|${school}`);
    const list = Array.from({ length: lapsed ? need : need + 1 }, (_, i) => {
      const licence = `BA${num(school)}${String(i + 1).padStart(3, '0')}`;
      const name = SURNAMES[Math.floor(r() * SURNAMES.length)] + GIVEN[Math.floor(r() * GIVEN.length)];
      const expires = policy.localDay(nowMs + (200 + Math.floor(r() * 900)) * DAY_MS);
      return { person: licence, name, licence, licenceExpires: expires };
    });
    if (lapsed) list[list.length - 1].licenceExpires = policy.localDay(nowMs - FAILURES.lapsedLicence.lapsedDaysAgo * DAY_MS);
    guardsCache.set(key, list);
    return list;
  }

  function inspections(school: string, nowMs: number): PlannedInspection[] {
    const r = rng(`inspections|${school}`);
    const s = schoolOf(school);
    const daysAgo = (lo: number, hi: number) => nowMs - (lo + r() * (hi - lo)) * DAY_MS;
    const out: PlannedInspection[] = [{ school, item: 'perimeter', result: 'pass', atMs: daysAgo(35, 105), note: '围墙、围栏完好，无破损、无攀爬痕迹' }];
    for (const g of s.gates ?? []) {
      const stale = school === FAILURES.staleBarrier.school && g.id === FAILURES.staleBarrier.gate;
      out.push({
        school, item: 'barrier', gate: g.id, result: 'pass',
        atMs: stale ? nowMs - (FAILURES.staleBarrier.ageDays * DAY_MS + 3 * 3_600_000) : daysAgo(35, 105),
        note: `${g.name}防冲撞设施（升降柱、隔离墩）完好，接送区与车行道隔离`,
      });
    }
    return out;
  }

  const uplinkUp = (school: string, atMs: number, nowMs: number) =>
    !(school === FAILURES.uplinkDown.school && atMs >= policy.dayStartMs(policy.localDay(nowMs - FAILURES.uplinkDown.sinceDaysAgo * DAY_MS)));

  function dayEvents(school: string, day: string, nowMs: number): PlannedEvent[] {
    const s = schoolOf(school);
    const d = devices(school);
    const start = policy.dayStartMs(day);
    const at = (minute: number) => start + Math.round(minute * 60_000);
    const r = rng(`day|${school}|${day}`);
    const k = Math.round(start / DAY_MS); // a day number, for turns
    const staff = guards(school, nowMs);
    const out: PlannedEvent[] = [];
    const checkin = (device: IndexedDevice | undefined, minute: number, role: CheckinRole, post: string, person: string) => {
      if (device) out.push({ atMs: at(minute), school, device: device.id, type: 'checkin', payload: { role, post, person } });
    };

    // The gatehouse, round the clock: a round in every 2-hour slot.
    for (let slot = 0; slot < 12; slot++) checkin(d.gatehouse, slot * 120 + 5 + r() * 100, 'guard', 'gatehouse', staff[(k * 12 + slot) % staff.length].person);
    // The NVR's police uplink: the day's last report (the live simulator adds keepalives).
    for (const nvr of d.nvrs) {
      const m = 23 * 60 + 52 + r() * 5;
      out.push({ atMs: at(m), school, device: nvr.id, type: 'uplink', payload: { target: 'police', up: uplinkUp(school, at(m), nowMs) } });
    }

    if (policy.isSchoolDay(day)) {
      staff.forEach((g, i) => checkin(d.gatehouse, (i % 2 === 0 ? 360 : 1080) + r() * 50, 'guard', 'gatehouse', g.person));
      const w = policy.windowsFor(school);
      const posts = (s.gates ?? []).flatMap((g) => g.posts.map((post) => ({ post, gate: g.id })));
      posts.forEach(({ post, gate }, j) => {
        const terminal = d.terminals.find((t) => t.post === post) ?? d.terminals.find((t) => t.post && (s.gates ?? []).find((g) => g.id === gate)?.posts.includes(t.post)) ?? d.gatehouse;
        w.peaks.forEach((peak, p) => {
          const when = () => peak.fromMin + 1 + r() * Math.max(1, peak.toMin - peak.fromMin - 12);
          checkin(terminal, when(), 'guard', post, staff[(k * 7 + j * 2 + p) % staff.length].person);
          if (school === FAILURES.shortPost.school && post === FAILURES.shortPost.post && peak.id === FAILURES.shortPost.peak) return;
          const volunteer = ['high', 'vocational'].includes(s.type) || r() < 0.25;
          checkin(terminal, when(), volunteer ? 'teacher' : 'parent_volunteer', post, volunteer ? `T${num(school)}${String(1 + ((k + j + p) % 20)).padStart(2, '0')}` : `P${num(school)}${String(1 + ((k * 3 + j + p) % 40)).padStart(2, '0')}`);
          if (r() < 0.35) {
            const police = gate === 'main';
            checkin(terminal, when(), police ? 'police' : 'teacher', post, police ? `PO${num(school)}${String(1 + (k % 4)).padStart(2, '0')}` : `T${num(school)}${String(21 + ((k + j) % 10)).padStart(2, '0')}`);
          }
        });
      });
      for (const g of d.gates) {
        for (const win of w.open) {
          out.push({ atMs: at(win.fromMin + r() * 3), school, device: g.id, type: 'gate', payload: { state: 'open' } });
          out.push({ atMs: at(win.toMin - 1 - r() * 5), school, device: g.id, type: 'gate', payload: { state: 'closed' } });
        }
        if (school === FAILURES.gateLeftOpen.school && g.gate === FAILURES.gateLeftOpen.gate) {
          out.push({ atMs: at(18 * 60 + 10 + r() * 5), school, device: g.id, type: 'gate', payload: { state: 'open' } });
          out.push({ atMs: at(19 * 60 + r() * 10), school, device: g.id, type: 'gate', payload: { state: 'closed' } });
        }
      }
    }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  function testPresses(nowMs: number, schools: readonly string[] = [...registry.schools.keys()]): PlannedEvent[] {
    const out: PlannedEvent[] = [];
    for (const school of schools)
      for (const b of devices(school).buttons) {
        const h = hash(`test|${b.id}`);
        for (const daysAgo of [1 + (h % 27), 31 + (h % 27)]) {
          const day = policy.localDay(nowMs - daysAgo * DAY_MS);
          const atMs = policy.dayStartMs(day) + (9 * 60 + ((h >>> 8) % 480)) * 60_000;
          out.push({ atMs, school, device: b.id, type: 'alarm', payload: { id: `test-${b.id}-${day}`, kind: 'panic', zone: b.place, test: true } });
        }
      }
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  return { registry, policy, guards, inspections, dayEvents, testPresses, uplinkUp, canteen: createCanteenScenario(registry, policy) };
}

/**
 * The local days of `days` days of history up to today, oldest first: from the school day before
 * the first of them (so the first day's verdicts have a last school day to judge), to today.
 */
export function lastDays(policy: PolicyIndex, nowMs: number, days: number): string[] {
  const first = policy.localDay(nowMs - days * DAY_MS);
  const from = policy.previousSchoolDay(first) ?? first;
  const out: string[] = [];
  for (let ms = policy.dayStartMs(from) + DAY_MS / 2; policy.localDay(ms) <= policy.localDay(nowMs); ms += DAY_MS) out.push(policy.localDay(ms));
  return out;
}
