/**
 * The 6 × 100% targets (contract §7): every school judged on evidence, the county's six rates.
 *
 * Facts are projections kept as events arrive (check-ins and gate openings per school and local
 * day, each button's last test press, each NVR's police uplink, inspections, guards on file), so a
 * verdict never rests on raw events that retention deletes. A school is evaluated when one of its
 * inputs changes and on the calendar: each peak window's and gatehouse slot's end, midnight, and
 * the moment a verdict would go stale (a test press ageing out, a repair deadline), through the
 * scheduler. A changed verdict is stored and sent as a `target` frame in the same commit.
 *
 * Each local midnight the day's verdicts go on record (`target_daily`, the monthly report). A past
 * day the gateway did not close itself (it was down at midnight, or the day's events arrived late:
 * a terminal that was offline, a history import) is closed from its kept facts instead: at start,
 * and once late events for it have stopped arriving for a moment (`pastDayVerdicts`).
 */
import type { GatewayModule, ModuleContext, Tx } from '../../core/module.js';
import type { DomainEvent } from '../../core/events.js';
import type { AlarmPayload, CheckinPayload, GatePayload, UplinkPayload } from '../../contract/mqtt.js';
import { TARGET_IDS, type TargetId } from '../../contract/policy.js';
import { Point, line } from '../../core/points.js';
import type { TargetRateView } from '../../contract/api.js';
import type { DevicesModule } from '../devices/index.js';
import type { IndexedDevice } from '../../registry.js';
import { addCheckin, emptyDay, splitByDay } from './day-facts.js';
import type { DayFacts, GuardOnFile, Inspection, Peak, SchoolFacts, Status, Verdict, Window } from './facts.js';
import type { DailyRow } from './report.js';
import { RULES, TARGET_NAMES } from './rules.js';
import type { Condition } from '../../store/store.js';
import { recordRoutes } from './record-routes.js';
import { targetRoutes } from './routes.js';

declare module '../../core/events.js' {
  interface EventMap {
    uplink: UplinkPayload;
    /** An inspection recorded by a person (contract §7 `POST /api/inspections`). */
    inspection: Inspection & { school: string; note?: string; by: string };
    /** A photo stored for a school's record (who may see it). */
    media: { sha256: string; school: string };
    /** A school's licensed guards replaced (contract §7 `PUT /api/schools/{id}/guards`). */
    guards: { school: string; guards: GuardOnFile[]; by: string };
  }
}

/** A school's verdict on one target, as kept and shown. */
export interface SchoolVerdict extends Verdict {
  school: string;
  target: TargetId;
  inScope: boolean;
  /** Since when the status is what it is. */
  since: number;
  evaluatedAt: number;
}

/** One target's county figure (the contract's view, with the id typed). */
export type TargetRate = TargetRateView & { id: TargetId };

export interface TargetsModule extends GatewayModule {
  verdict(school: string, target: TargetId): SchoolVerdict | undefined;
  rates(school?: string): TargetRate[];
  /** Every in-scope school's verdict on a target. */
  schools(target: TargetId, status?: Status): SchoolVerdict[];
  /** The newest inspection of each kind a school has (perimeter, and barrier per gate). */
  inspections(school: string): { perimeter?: Inspection; barriers: Record<string, Inspection | undefined> };
  guards(school: string): GuardOnFile[];
  /** The schools a stored photo belongs to (empty: no such photo). */
  mediaSchools(sha256: string): string[];
  /** Every in-scope school's verdicts as they stood at the end of a past local day, judged from the facts kept (KEEP_DAYS). */
  pastDayVerdicts(day: string): Pick<SchoolVerdict, 'school' | 'target' | 'status' | 'reasons' | 'inScope' | 'evidence'>[];
  /** Each school's verdicts as they stood at the end of each day in [fromDay, toDay] (local dates). */
  daily(fromDay: string, toDay: string, school?: string): Promise<DailyRow[]>;
}

const DAY_MS = 86_400_000;
/** Per-day facts kept in memory and loaded at start: enough for the last school day after any holiday. */
const KEEP_DAYS = 60;
/** A past day with late events is closed once none has arrived for this long, and at most this much after the first. */
export const LATE_QUIET_MS = 10_000;
export const LATE_MAX_WAIT_MS = 120_000;
/** Test presses kept per button: enough to know the last one before any past day still kept. */
const KEEP_TESTS_DAYS = KEEP_DAYS + 62;
const EVIDENCE_KINDS = new Set(['alarm_button', 'camera', 'nvr']);

interface DeviceFacts {
  openSinceMs?: number;
  openRef?: string;
  lastTestMs?: number;
  /** Test presses within KEEP_TESTS_DAYS, ascending: a past day is judged on the last one before its end. */
  tests?: number[];
  uplink?: { up: boolean; atMs: number; ref: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function targetsModule(ctx: ModuleContext): TargetsModule {
  const { registry } = ctx;
  const { policy } = ctx;
  const days = new Map<string, Map<string, DayFacts>>();
  const deviceFacts = new Map<string, DeviceFacts>();
  const inspections = new Map<string, { perimeter?: Inspection; barriers: Record<string, Inspection | undefined> }>();
  const guards = new Map<string, GuardOnFile[]>();
  const verdicts = new Map<string, Map<TargetId, SchoolVerdict>>();
  const mediaOwners = new Map<string, string[]>();
  /** Every inspection of a school, ascending by time: a past day is judged on those made by its end. */
  const inspectionLog = new Map<string, Inspection[]>();
  /** Local days with verdicts on record (`target_daily`) within KEEP_DAYS. */
  const closedDays = new Set<string>();
  /** Past days not on record that late events arrived for, and since when the first waits. */
  const pendingPast = new Set<string>();
  let pendingSinceMs: number | undefined;
  // The registry's own entries, not copies: a province has a million of them.
  const devicesBySchool = new Map<string, IndexedDevice[]>();
  for (const d of registry.devices.values()) {
    const list = devicesBySchool.get(d.school) ?? [];
    list.push(d);
    devicesBySchool.set(d.school, list);
  }
  const devices = () => ctx.module<DevicesModule>('devices');

  const dayOf = (school: string, day: string): DayFacts => {
    let byDay = days.get(school);
    if (!byDay) days.set(school, (byDay = new Map()));
    let d = byDay.get(day);
    if (!d) byDay.set(day, (d = emptyDay(day)));
    return d;
  };
  const putDay = (tx: Tx, school: string, d: DayFacts) => tx.put('target_days', { id: `${school}|${d.day}`, school, day: d.day, doc: { school, ...d } });
  const putDevice = (tx: Tx, id: string) => tx.put('target_devices', { device: id, doc: { device: id, ...deviceFacts.get(id) } });
  const windows = (school: string): { open: Window[]; peaks: Peak[] } => {
    const w = policy.windowsFor(school);
    return {
      open: w.open.map((x) => ({ from: x.fromMin, to: x.toMin })),
      peaks: w.peaks.map((p) => ({ id: p.id, name: p.name, nameEn: p.nameEn, from: p.fromMin, to: p.toMin })),
    };
  };

  /** A copy of a day's facts with the gate openings still under way added up to `nowMs`. */
  function withOngoing(school: string, d: DayFacts | undefined, day: string, nowMs: number): DayFacts {
    const copy: DayFacts = { day, checkins: d?.checkins ?? {}, openings: { ...d?.openings } };
    for (const dev of devicesBySchool.get(school) ?? []) {
      const f = deviceFacts.get(dev.id);
      if (f?.openSinceMs === undefined) continue;
      for (const part of splitByDay(policy, f.openSinceMs, nowMs, f.openRef!))
        if (part.day === day) copy.openings[dev.gate ?? dev.id] = [...(copy.openings[dev.gate ?? dev.id] ?? []), part.opening];
    }
    return copy;
  }

  function factsOf(school: string, nowMs: number): SchoolFacts {
    const s = registry.schools.get(school)!;
    const today = policy.localDay(nowMs);
    const judgedDay = policy.previousSchoolDay(today);
    const byDay = days.get(school);
    const live = devices().records;
    const health = (id: string) => {
      const r = live.get(id);
      return { id, online: r?.online ?? undefined, downSinceMs: r && r.online === false ? (r.since ?? undefined) : undefined };
    };
    const own = devicesBySchool.get(school) ?? [];
    const insp = inspections.get(school);
    return {
      school: { id: s.id, students: s.students, boarders: s.boarders ?? 0, gates: (s.gates ?? []).map((g) => ({ id: g.id, name: g.name, posts: [...g.posts] })) },
      windows: windows(school),
      nowMs,
      judged: judgedDay ? withOngoing(school, byDay?.get(judgedDay), judgedDay, nowMs) : undefined,
      judgedUntilMs: policy.dayStartMs(today) + DAY_MS,
      today: policy.isSchoolDay(today) ? { ...withOngoing(school, byDay?.get(today), today, nowMs), nowMinute: policy.minuteOfDay(nowMs) } : undefined,
      perimeter: insp?.perimeter,
      barriers: insp?.barriers ?? {},
      guards: guards.get(school) ?? [],
      buttons: own.filter((d) => d.kind === 'alarm_button').map((d) => ({ ...health(d.id), lastTestMs: deviceFacts.get(d.id)?.lastTestMs })),
      cameras: own.filter((d) => d.kind === 'camera').map((d) => ({ ...health(d.id), covers: d.covers ?? [] })),
      nvrs: own.filter((d) => d.kind === 'nvr').map((d) => ({ ...health(d.id), uplink: deviceFacts.get(d.id)?.uplink })),
    };
  }

  /** Judges one school on all six, stores what changed, and sets its next wake-up. */
  function evaluate(school: string, tx: Tx): void {
    const nowMs = tx.now;
    const facts = factsOf(school, nowMs);
    const mine = verdicts.get(school) ?? new Map<TargetId, SchoolVerdict>();
    verdicts.set(school, mine);
    const s = registry.schools.get(school)!;
    let wake = facts.judgedUntilMs!;
    for (const target of TARGET_IDS) {
      const inScope = policy.inScope(target, s);
      const v: Verdict = inScope
        ? RULES[target](facts, policy.target(target) as never)
        : { status: 'unknown', reasons: [{ zh: '本校不在此项考核范围内', en: 'not in scope for this school' }], evidence: [], staleAt: null };
      if (v.staleAt !== null && v.staleAt > nowMs) wake = Math.min(wake, v.staleAt);
      const before = mine.get(target);
      const same = before && before.status === v.status && before.inScope === inScope && JSON.stringify(before.reasons) === JSON.stringify(v.reasons);
      if (same) {
        before.evaluatedAt = nowMs;
        before.staleAt = v.staleAt;
        before.evidence = v.evidence;
        continue;
      }
      const next: SchoolVerdict = { ...v, school, target, inScope, since: before && before.status === v.status ? before.since : nowMs, evaluatedAt: nowMs };
      mine.set(target, next);
      tx.put('target_verdicts', { id: `${school}|${target}`, school, target, status: next.status, since: next.since, doc: next });
      if (!before || before.status !== next.status || before.inScope !== inScope)
        tx.feed('target', { school, target, status: next.status, previous: before?.status ?? null, inScope, since: iso(next.since), reasons: next.reasons }, nowMs);
    }
    // The calendar: the end of each peak window and gatehouse slot today, and every minute while a gate stands open.
    if (facts.today) {
      const start = policy.dayStartMs(facts.today.day);
      const slot = policy.target('closed_campus').gatehouseSlotHours * 60;
      const ends = [...facts.windows.peaks.map((p) => p.to), ...Array.from({ length: Math.floor(1440 / slot) }, (_, i) => (i + 1) * slot)];
      for (const m of ends) if (start + m * 60_000 > nowMs) wake = Math.min(wake, start + m * 60_000);
    }
    if ((devicesBySchool.get(school) ?? []).some((d) => deviceFacts.get(d.id)?.openSinceMs !== undefined)) wake = Math.min(wake, nowMs + 60_000);
    tx.after(() => wakeAt(school, wake));
  }
  const wakeAt = (school: string, ms: number) =>
    ctx.scheduler.at(`targets:${school}`, ms, () => ctx.dispatcher.transact((t) => evaluate(school, t)).catch((err) => ctx.log.warn({ err, school }, 'target evaluation failed')));


  /** Puts one day's verdicts on record (the monthly report), as rows and points. */
  function record(day: string, list: Iterable<Pick<SchoolVerdict, 'school' | 'target' | 'status' | 'reasons' | 'inScope'>>, tx: Tx): void {
    const lines: string[] = [];
    for (const v of list) {
      if (!v.inScope) continue;
      tx.insert('target_daily', { school: v.school, day, target: v.target, status: v.status, reasons: JSON.stringify(v.reasons) });
      const p = new Point('campus_target').tag('school', v.school).tag('region', registry.schools.get(v.school)!.region).tag('target', v.target);
      lines.push(line(p.intField('met', v.status === 'met' ? 1 : 0).intField('not_met', v.status === 'not_met' ? 1 : 0).intField('unknown', v.status === 'unknown' ? 1 : 0).timestamp(policy.dayStartMs(day))));
    }
    tx.points(lines, tx.now);
    closedDays.add(day);
  }

  /** At local midnight: the day that ended gets its verdicts on record. */
  function closeDay(tx: Tx): void {
    const day = policy.localDay(tx.now - 60_000);
    if (!closedDays.has(day)) record(day, [...verdicts.values()].flatMap((mine) => [...mine.values()]), tx);
    for (const school of registry.schools.keys()) evaluate(school, tx);
    // Facts older than any day a verdict can still judge leave memory (they stay in the ledger).
    const oldest = policy.localDay(tx.now - KEEP_DAYS * DAY_MS);
    for (const byDay of days.values()) for (const d of byDay.keys()) if (d < oldest) byDay.delete(d);
    for (const d of closedDays) if (d < oldest) closedDays.delete(d);
    closePastDays(tx);
  }

  /**
   * One school's facts as they stood at the end of a past local day, from what is kept: that day's
   * and the school day before it's check-ins and gate openings, the inspections made by then, the
   * last test press of each button and the last police uplink report by then. Device outages of
   * past days are not kept, so a reconstructed day judges every device as up; the guards on file
   * are today's list.
   */
  function pastFactsOf(school: string, day: string): SchoolFacts {
    const s = registry.schools.get(school)!;
    const endMs = policy.dayStartMs(day) + DAY_MS - 1;
    const byDay = days.get(school);
    const judgedDay = policy.previousSchoolDay(day);
    const own = devicesBySchool.get(school) ?? [];
    const made = (inspectionLog.get(school) ?? []).filter((i) => i.atMs <= endMs);
    const latest = (pred: (i: Inspection) => boolean) => made.filter(pred).at(-1);
    let uplink: DayFacts['uplink'];
    for (let k = 0; k <= 1 && !uplink; k++) uplink = byDay?.get(policy.localDay(endMs - k * DAY_MS))?.uplink;
    return {
      school: { id: s.id, students: s.students, boarders: s.boarders ?? 0, gates: (s.gates ?? []).map((g) => ({ id: g.id, name: g.name, posts: [...g.posts] })) },
      windows: windows(school),
      nowMs: endMs,
      judged: judgedDay ? (byDay?.get(judgedDay) ?? emptyDay(judgedDay)) : undefined,
      judgedUntilMs: endMs + 1,
      today: policy.isSchoolDay(day) ? { ...(byDay?.get(day) ?? emptyDay(day)), nowMinute: 24 * 60 } : undefined,
      perimeter: latest((i) => i.item === 'perimeter'),
      barriers: Object.fromEntries((s.gates ?? []).map((g) => [g.id, latest((i) => i.item === 'barrier' && i.gate === g.id)])),
      guards: guards.get(school) ?? [],
      buttons: own.filter((d) => d.kind === 'alarm_button').map((d) => ({ id: d.id, online: true, lastTestMs: deviceFacts.get(d.id)?.tests?.filter((t) => t <= endMs).at(-1) })),
      cameras: own.filter((d) => d.kind === 'camera').map((d) => ({ id: d.id, online: true, covers: d.covers ?? [] })),
      nvrs: own.filter((d) => d.kind === 'nvr').map((d, i) => ({ id: d.id, online: true, uplink: i === 0 ? uplink : undefined })),
    };
  }

  /** Every in-scope school's verdicts at the end of a past day, judged from its kept facts. */
  function pastDayVerdicts(day: string): Pick<SchoolVerdict, 'school' | 'target' | 'status' | 'reasons' | 'inScope' | 'evidence'>[] {
    const out: Pick<SchoolVerdict, 'school' | 'target' | 'status' | 'reasons' | 'inScope' | 'evidence'>[] = [];
    for (const school of registry.schools.keys()) {
      const facts = pastFactsOf(school, day);
      const s = registry.schools.get(school)!;
      for (const target of TARGET_IDS) {
        if (!policy.inScope(target, s)) continue;
        const v = RULES[target](facts, policy.target(target) as never);
        out.push({ school, target, status: v.status, reasons: v.reasons, inScope: true, evidence: v.evidence });
      }
    }
    return out;
  }

  /** Puts on record every past day within KEEP_DAYS that has day facts but no verdicts on record. */
  function closePastDays(tx: Tx): void {
    const today = policy.localDay(tx.now);
    const withFacts = new Set<string>();
    // Days with facts of their own (check-ins, gate openings, uplink reports); a late test press alone makes no day.
    for (const byDay of days.values()) for (const d of byDay.keys()) if (d < today && !closedDays.has(d)) withFacts.add(d);
    pendingPast.clear();
    pendingSinceMs = undefined;
    const oldest = policy.localDay(tx.now - KEEP_DAYS * DAY_MS);
    for (const day of [...withFacts].sort()) if (day >= oldest) record(day, pastDayVerdicts(day), tx);
  }

  /** A late event for a past day not on record: that day is closed once late events stop coming. */
  function late(atMs: number, tx: Tx): void {
    const day = policy.localDay(atMs);
    if (day >= policy.localDay(tx.now) || closedDays.has(day)) return;
    pendingPast.add(day);
    pendingSinceMs ??= tx.now;
    const due = Math.min(tx.now + LATE_QUIET_MS, pendingSinceMs + LATE_MAX_WAIT_MS);
    tx.after(() =>
      ctx.scheduler.at('targets:late', due, () => ctx.dispatcher.transact(closePastDays).catch((err) => ctx.log.error({ err }, 'closing past days failed'))),
    );
  }
  const scheduleMidnight = () => {
    const next = policy.dayStartMs(policy.localDay(ctx.now())) + DAY_MS;
    ctx.scheduler.at('targets:midnight', next, () =>
      ctx.dispatcher.transact(closeDay).catch((err) => ctx.log.error({ err }, 'closing the day failed')).finally(scheduleMidnight),
    );
  };

  const logInspection = (school: string, i: Inspection) => {
    const log = inspectionLog.get(school) ?? [];
    inspectionLog.set(school, log);
    log.push(i);
    log.sort((a, b) => a.atMs - b.atMs);
  };

  /** Does a verdict now look at this local day (today, or the last school day before it)? */
  const judges = (day: string, nowMs: number) => {
    const today = policy.localDay(nowMs);
    return day === today || day === policy.previousSchoolDay(today);
  };

  function apply(e: DomainEvent, tx: Tx): void {
    const device = e.device ? registry.devices.get(e.device) : undefined;
    let judged = true;
    switch (e.type) {
      case 'checkin': {
        const c = e.data as CheckinPayload;
        const day = policy.localDay(e.atMs);
        if (day < policy.localDay(tx.now - KEEP_DAYS * DAY_MS)) return;
        const d = dayOf(e.school, day);
        if (addCheckin(d, c.post, { minute: policy.minuteOfDay(e.atMs), role: c.role, person: c.person, ref: `checkin:${e.device}:${iso(e.atMs)}` })) putDay(tx, e.school, d);
        late(e.atMs, tx);
        if (!judges(day, tx.now)) return; // a day no verdict looks at (a late or imported one) changes no verdict
        break;
      }
      case 'gate': {
        const g = e.data as GatePayload;
        const f = deviceFacts.get(e.device!) ?? {};
        deviceFacts.set(e.device!, f);
        if (g.state === 'open') {
          if (f.openSinceMs !== undefined) return; // already open: the first opening counts
          f.openSinceMs = e.atMs;
          f.openRef = `gate:${e.device}:${iso(e.atMs)}`;
        } else {
          if (f.openSinceMs === undefined) return;
          const parts = splitByDay(policy, f.openSinceMs, Math.max(e.atMs, f.openSinceMs), f.openRef!);
          judged = parts.some((part) => judges(part.day, tx.now));
          for (const part of parts) {
            const d = dayOf(e.school, part.day);
            const gate = device?.gate ?? e.device!;
            (d.openings[gate] ??= []).push(part.opening);
            putDay(tx, e.school, d);
          }
          f.openSinceMs = undefined;
          f.openRef = undefined;
        }
        putDevice(tx, e.device!);
        late(e.atMs, tx);
        if (!judged) return;
        break;
      }
      case 'alarm': {
        if (!(e.data as AlarmPayload).test) return;
        const f = deviceFacts.get(e.device!) ?? {};
        deviceFacts.set(e.device!, f);
        const keepFrom = tx.now - KEEP_TESTS_DAYS * DAY_MS;
        if (e.atMs >= keepFrom && !f.tests?.includes(e.atMs)) f.tests = [...(f.tests ?? []).filter((t) => t >= keepFrom), e.atMs].sort((a, b) => a - b);
        const newest = (f.lastTestMs ?? 0) < e.atMs;
        if (newest) f.lastTestMs = e.atMs;
        putDevice(tx, e.device!);
        late(e.atMs, tx);
        if (!newest) return; // an older test press changes no verdict
        break;
      }
      case 'uplink': {
        const u = e.data as UplinkPayload;
        if (u.target !== 'police') return; // the county platform is not what the target asks
        const f = deviceFacts.get(e.device!) ?? {};
        deviceFacts.set(e.device!, f);
        const report = { up: u.up, atMs: e.atMs, ref: `uplink:${e.device}:${iso(e.atMs)}` };
        const day = policy.localDay(e.atMs);
        if (day >= policy.localDay(tx.now - KEEP_DAYS * DAY_MS)) {
          const d = dayOf(e.school, day);
          if (!d.uplink || d.uplink.atMs <= e.atMs) {
            d.uplink = report;
            putDay(tx, e.school, d);
          }
        }
        late(e.atMs, tx);
        if (f.uplink && f.uplink.atMs > e.atMs) return;
        f.uplink = report;
        putDevice(tx, e.device!);
        break;
      }
      case 'device_transition':
        if (!device || !EVIDENCE_KINDS.has(device.kind)) return;
        break;
      case 'inspection': {
        const i = e.data as DomainEvent<'inspection'>['data'];
        const mine = inspections.get(i.school) ?? { barriers: {} };
        inspections.set(i.school, mine);
        const { school: _s, by: _b, note: _n, ...kept } = i;
        if (i.item === 'perimeter' && (!mine.perimeter || mine.perimeter.atMs <= i.atMs)) mine.perimeter = kept;
        if (i.item === 'barrier' && i.gate && (!mine.barriers[i.gate] || mine.barriers[i.gate]!.atMs <= i.atMs)) mine.barriers[i.gate] = kept;
        logInspection(i.school, kept);
        tx.put('inspections', { id: i.id, school: i.school, item: i.item, gate: i.gate ?? null, result: i.result, at: i.atMs, by: i.by, doc: i });
        break;
      }
      case 'media': {
        const m = e.data as { sha256: string; school: string };
        const owners = mediaOwners.get(m.sha256) ?? [];
        if (owners.includes(m.school)) return;
        mediaOwners.set(m.sha256, [...owners, m.school]);
        tx.put('media', { sha256: m.sha256, doc: { sha256: m.sha256, schools: mediaOwners.get(m.sha256) } });
        return;
      }
      case 'guards': {
        const g = e.data as DomainEvent<'guards'>['data'];
        guards.set(g.school, g.guards);
        tx.put('school_guards', { school: g.school, doc: { school: g.school, guards: g.guards, by: g.by, at: tx.now } });
        break;
      }
      default:
        return;
    }
    tx.after(() => touch(e.school));
  }

  /**
   * Schools whose facts changed are judged once per round, in one job after the commit that
   * changed them: a burst (a county's cameras coming back after a power cut) is one evaluation per
   * school, not one per event, and never slows the commit that carries an alarm.
   */
  const dirty = new Set<string>();
  let round: Promise<void> | undefined;
  function touch(school: string): void {
    dirty.add(school);
    if (round) return;
    round = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() =>
        ctx.dispatcher.transact((tx) => {
          for (const s of dirty) evaluate(s, tx);
          dirty.clear();
        }),
      )
      .catch((err) => ctx.log.warn({ err }, 'target evaluation failed'))
      .finally(() => {
        round = undefined;
        if (dirty.size > 0) touch([...dirty][0]);
      });
  }

  return {
    name: 'targets',
    dependsOn: ['devices'],
    consumes: ['checkin', 'gate', 'alarm', 'uplink', 'device_transition', 'inspection', 'guards', 'media'],
    frames: ['target'],
    tables: [
      { name: 'target_days', key: 'id', columns: { id: 'text', school: 'text', day: 'text' }, doc: true, indexes: [{ columns: ['day'] }] },
      { name: 'target_devices', key: 'device', columns: { device: 'text' }, doc: true },
      { name: 'target_verdicts', key: 'id', columns: { id: 'text', school: 'text', target: 'text', status: 'text', since: 'integer' }, doc: true },
      { name: 'target_daily', columns: { school: 'text', day: 'text', target: 'text', status: 'text', reasons: 'text' }, indexes: [{ columns: ['day', 'school'] }] },
      { name: 'inspections', key: 'id', columns: { id: 'text', school: 'text', item: 'text', gate: 'text', result: 'text', at: 'integer', by: 'text' }, doc: true, indexes: [{ columns: ['school', 'at'] }] },
      { name: 'school_guards', key: 'school', columns: { school: 'text' }, doc: true },
      { name: 'media', key: 'sha256', columns: { sha256: 'text' }, doc: true },
    ],

    async load() {
      days.clear();
      deviceFacts.clear();
      inspections.clear();
      guards.clear();
      verdicts.clear();
      mediaOwners.clear();
      inspectionLog.clear();
      closedDays.clear();
      pendingPast.clear();
      pendingSinceMs = undefined;
      for (const r of await ctx.store.find<{ sha256: string; schools: string[] }>('media', {})) mediaOwners.set(r.sha256, r.schools);
      const oldest = policy.localDay(ctx.now() - KEEP_DAYS * DAY_MS);
      for (const r of await ctx.store.find<DayFacts & { school: string }>('target_days', { where: [['day', '>=', oldest]] }))
      {
        const d = dayOf(r.school, r.day);
        d.checkins = r.checkins;
        d.openings = r.openings;
        d.uplink = r.uplink;
      }
      for (const r of await ctx.store.find<{ day: string }>('target_daily', { where: [['day', '>=', oldest]] })) closedDays.add(r.day);
      for (const r of await ctx.store.find<DeviceFacts & { device: string }>('target_devices', {})) {
        const { device, ...f } = r;
        deviceFacts.set(device, f);
      }
      for (const r of await ctx.store.find<Inspection & { school: string }>('inspections', { orderBy: [['at', 'asc']] })) {
        const mine = inspections.get(r.school) ?? { barriers: {} };
        inspections.set(r.school, mine);
        const kept: Inspection = { id: r.id, item: r.item, gate: r.gate ?? undefined, result: r.result, atMs: r.atMs, photo: r.photo };
        if (r.item === 'perimeter') mine.perimeter = kept;
        if (r.item === 'barrier' && r.gate) mine.barriers[r.gate] = kept;
        logInspection(r.school, kept);
      }
      for (const r of await ctx.store.find<{ school: string; guards: GuardOnFile[] }>('school_guards', {})) guards.set(r.school, r.guards);
      for (const r of await ctx.store.find<SchoolVerdict>('target_verdicts', {})) {
        const mine = verdicts.get(r.school) ?? new Map();
        verdicts.set(r.school, mine);
        mine.set(r.target, r);
      }
    },

    async start() {
      // Everything judged afresh at start: time has passed while the gateway was away.
      await ctx.dispatcher.transact((tx) => {
        for (const school of registry.schools.keys()) evaluate(school, tx);
        // Days that ended while the gateway was away.
        closePastDays(tx);
      });
      scheduleMidnight();
    },

    stop() {
      ctx.scheduler.cancel('targets:midnight');
      ctx.scheduler.cancel('targets:late');
      for (const school of registry.schools.keys()) ctx.scheduler.cancel(`targets:${school}`);
    },

    apply,

    verdict: (school, target) => verdicts.get(school)?.get(target),

    rates(school) {
      return TARGET_IDS.map((id) => {
        const r: TargetRate = { id, name: TARGET_NAMES[id].zh, nameEn: TARGET_NAMES[id].en, rate: null, met: 0, notMet: 0, unknown: 0, inScope: 0 };
        for (const [s, mine] of verdicts) {
          if (school && s !== school) continue;
          const v = mine.get(id);
          if (!v?.inScope) continue;
          r.inScope++;
          if (v.status === 'met') r.met++;
          else if (v.status === 'not_met') r.notMet++;
          else r.unknown++;
        }
        r.rate = r.inScope > 0 ? r.met / r.inScope : null;
        return r;
      });
    },

    schools(target, status) {
      const out: SchoolVerdict[] = [];
      for (const mine of verdicts.values()) {
        const v = mine.get(target);
        if (v?.inScope && (!status || v.status === status)) out.push(v);
      }
      return out.sort((a, b) => a.school.localeCompare(b.school));
    },

    inspections: (school) => inspections.get(school) ?? { barriers: {} },
    guards: (school) => guards.get(school) ?? [],
    mediaSchools: (sha256) => mediaOwners.get(sha256) ?? [],
    pastDayVerdicts,

    async daily(fromDay, toDay, school) {
      const where: Condition[] = [['day', '>=', fromDay], ['day', '<=', toDay]];
      if (school) where.push(['school', '=', school]);
      const rows = await ctx.store.find<{ school: string; day: string; target: TargetId; status: Status; reasons: string }>('target_daily', { where, orderBy: [['day', 'asc'], ['school', 'asc']] });
      return rows.map((r) => ({ ...r, reasons: JSON.parse(r.reasons) as DailyRow['reasons'] }));
    },

    snapshot(only) {
      const schools: Record<string, Record<string, Status>> = {};
      for (const [school, mine] of verdicts) {
        if (only && school !== only) continue;
        const row: Record<string, Status> = {};
        for (const v of mine.values()) if (v.inScope) row[v.target] = v.status;
        schools[school] = row;
      }
      return { targets: { rates: this.rates(only), schools } };
    },

    async routes(app) {
      await app.register(targetRoutes);
      await app.register(recordRoutes);
    },
  };
}
