/**
 * Canteens (明厨亮灶, contract §8, issue 11): AI events become rectification cases (整改), records
 * (留样, 晨检, 陪餐, 消毒) are kept per school and day and judged at their deadlines, and a case
 * past its deadline escalates on the wall.
 *
 * - An `ai` event from a canteen camera (zone dining, kitchen or storage) is counted (events by kind
 *   per school and local day) and, through the policy's AI rule and `dedupe.ts`, opens a case per
 *   (camera, kind) or joins the open one. The activity module consumes the same event for its `ai`
 *   frame and point; both may.
 * - A case action (`canteen_case`, an operator's command) moves the case through `cases.ts`; the
 *   module refuses it inside the commit (nothing stored) when the state does not allow it.
 * - A record (`canteen_record`) is stored and its school's day judged at once (`records.ts`
 *   `judgeDay`); each new finding opens one case (its stable key, per school and day, in
 *   `canteen_findings`), and the scheduler wakes the school at the next deadline (`nextAtMs`).
 *   A school is judged from its first record on (a school not yet recording on the gateway is not
 *   flooded with "missing" cases), and its workers on shift are those with a morning check within
 *   the last ROSTER_DAYS days (no roster in the registry yet).
 * - Overdue: each open case's deadline is a scheduler job (re-armed from the table at start); when
 *   it passes, a `case` frame with `overdue: true` goes out once (`escalatedAt`).
 *
 * Every change of a case is a `case` frame carrying `school`, so a school's users get only theirs.
 */
import { createHash } from 'node:crypto';
import type { Case, CaseAction, Reason } from '../../contract/canteen.js';
import { iso } from '../../contract/common.js';
import { CANTEEN_ZONES, type AiKind, type AiPayload } from '../../contract/mqtt.js';
import type { DomainEvent } from '../../core/events.js';
import type { GatewayModule, ModuleContext, Tx } from '../../core/module.js';
import { Point, line } from '../../core/points.js';
import { mealLines, openCasesLine } from './points.js';
import { applyCaseAction, caseActions, isClosed, isOverdue, joinEvent, openCase, withSnapshot } from './cases.js';
import { caseKey, decideAiEvent, type OpenCaseRef } from './dedupe.js';
import { judgeDay, mealCompleteness, type Accompany, type DayInput, type Disinfection, type MealCompleteness, type MorningCheck, type ParsedRecord, type Sample } from './records.js';
import { KIND_NAMES } from './names.js';
import { canteenReportRoutes } from './report-routes.js';
import { caseFromInspection, type InspectionFact } from './inspections.js';
import { intakeRecord } from './intake.js';
import type { DeviceInput } from '../../ingest/parse.js';
import type { CanteenRecord } from '../../contract/canteen.js';
import { deliveryId, notificationBody, webhookUrlFor } from './notify.js';
import { OUTBOX_SPEC, OUTBOX_TABLE, WebhookDeliverer, outboxRow, type OutboxDoc } from './webhook.js';
import { topics } from '../../contract/mqtt.js';
import { canteenRoutes } from './routes.js';
import type { DevicesModule } from '../devices/index.js';

/** An operator's or school user's step on a case (contract §8 `POST /api/canteen/cases/{id}/{action}`). */
export interface CaseCommand {
  case: string;
  action: CaseAction;
  by: string;
  note?: string;
  /** `submit`: the photo's SHA-256, already in the media store. */
  photo?: string;
  measure?: string;
}

declare module '../../core/events.js' {
  interface EventMap {
    canteen_case: CaseCommand;
    /** A canteen record, checked by the route (`checkRecord`). */
    canteen_record: { school: string; canteen?: string; record: ParsedRecord; by: string };
  }
}

export class CaseNotFound extends Error {
  readonly code = 'not_found';
}

/** A case as shown: with its derived `overdue` flag and the actions its state allows. */
export type CaseView = Case & { overdue: boolean; actions: CaseAction[] };

export interface CanteenSchoolSummary {
  school: string;
  /** Required areas (policy, where the school's canteens have them) with a camera online / required. */
  coverage: { required: number; covered: number; rate: number | null; missing: string[] };
  aiEvents: Partial<Record<AiKind, number>>;
  cases: { open: number; overdue: number };
  /** Per meal (its school-day meals); empty on a day that is not a school day. */
  meals: MealCompleteness[];
}

export interface CanteenModule extends GatewayModule {
  get(id: string): Promise<CaseView | undefined>;
  list(q: { state?: string; school?: string; limit?: number }): Promise<CaseView[]>;
  /** Runs an action; throws CaseNotFound, IllegalCaseAction or CaseActionIncomplete (nothing stored then). */
  act(cmd: CaseCommand, school: string): Promise<CaseView>;
  summary(day: string, school?: string): CanteenSchoolSummary[];
  /** The records of a local day (a school's only when `school` is given), oldest first, times as ISO. */
  records(day: string, school?: string): Promise<RecordView[]>;
}

/** A stored record as GET /api/canteen/records shows it: the record's fields, its school, canteen and who entered it. */
export type RecordView = Record<string, unknown> & { id: string; kind: string; school: string; day: string; by: string };

/** A parsed record with its `…Ms` times written back as ISO (`takenAt`, `keptUntil`, `at`). */
function recordView(doc: { school: string; canteen?: string; record: ParsedRecord; by: string; day: string }): RecordView {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc.record)) {
    if (k.endsWith('Ms') && typeof v === 'number') out[k.slice(0, -2)] = iso(v);
    else out[k] = v;
  }
  return { ...out, id: doc.record.id, kind: doc.record.kind, school: doc.school, ...(doc.canteen ? { canteen: doc.canteen } : {}), day: doc.day, by: doc.by };
}

const DAY_MS = 86_400_000;
/** A worker with a morning check within this many days is expected on shift (no roster yet); records kept in memory as long. */
export const ROSTER_DAYS = 7;
/** A record dated more than this before it arrives is late; its day is judged once late records stop for LATE_QUIET_MS. */
export const LATE_RECORD_MS = 10 * 60_000;
export const LATE_QUIET_MS = 3_000;

const SHA256_RE = /^[0-9a-f]{64}$/;

interface DayRecords {
  samples: Sample[];
  checks: MorningCheck[];
  accompany: Accompany[];
  disinfection: Disinfection[];
}
const emptyRecords = (): DayRecords => ({ samples: [], checks: [], accompany: [], disinfection: [] });

export function canteenModule(ctx: ModuleContext): CanteenModule {
  const { registry, policy, store, scheduler, dispatcher } = ctx;
  /** Cases not closed, by id (all of them are in `canteen_cases`). */
  const open = new Map<string, Case>();
  /** Open AI cases by (camera, kind), for dedupe. */
  const openAi = new Map<string, OpenCaseRef>();
  /** AI events by school, local day and kind. */
  const aiDays = new Map<string, Partial<Record<AiKind, number>>>();
  /** Records by school and local day, within ROSTER_DAYS. */
  const records = new Map<string, Map<string, DayRecords>>();
  /** Finding keys (`school|day|key`) that opened a case. */
  const findings = new Set<string>();
  const canteenSchools = [...registry.schools.values()].filter((s) => (s.canteens?.length ?? 0) > 0).map((s) => s.id);

  const view = (c: Case, nowMs = ctx.now()): CaseView => ({ ...c, overdue: isOverdue(c, nowMs), actions: caseActions(c) });
  const row = (c: Case) => ({ id: c.id, school: c.school, state: c.state, source: c.source, opened: Date.parse(c.openedAt), device: c.device ?? null, kind: c.kind ?? null, doc: c });

  /** Stores a case, sends its frame, keeps the in-memory indexes and (after the commit) its deadline job. */
  function save(c: Case, tx: Tx, action: string, previous: string | null): void {
    tx.put('canteen_cases', row(c));
    if (isClosed(c)) open.delete(c.id);
    else open.set(c.id, c);
    if (c.source === 'ai' && c.device && c.kind) {
      const key = caseKey(c.device, c.kind);
      if (isClosed(c)) {
        if (openAi.get(key)?.caseId === c.id) openAi.delete(key);
      } else openAi.set(key, { caseId: c.id, lastEventMs: Date.parse(c.lastEventAt) });
    }
    const last = c.history.at(-1)!;
    const frame = { ...frameOf(c, tx.now), action, previous, by: last.by, ...(last.note ? { note: last.note } : {}) };
    tx.feed('case', frame, tx.now);
    notifySchool(c, action, frame, tx);
    if (action === 'open' || action === 'close') {
      const p = new Point('canteen_case').tag('school', c.school).tag('source', c.source);
      const region = registry.schools.get(c.school)?.region;
      if (region) p.tag('region', region);
      if (c.kind) p.tag('kind', c.kind);
      if (c.finding) p.tag('finding', c.finding);
      if (c.item) p.tag('item', c.item);
      p.intField(action === 'open' ? 'opened' : 'closed', 1).timestamp(tx.now);
      tx.points([line(p)], tx.now);
    }
    if (action === 'open' || action === 'close') gauge(c.school, tx);
    tx.after(() => arm(c));
  }

  /** The school's open and overdue cases now (`canteen_cases`), after a change of either. */
  function gauge(school: string, tx: Tx): void {
    let openN = 0;
    let overdue = 0;
    for (const c of open.values())
      if (c.school === school) {
        openN++;
        if (isOverdue(c, tx.now)) overdue++;
      }
    tx.points([openCasesLine(school, registry.schools.get(school)?.region, { open: openN, overdue }, tx.now)], tx.now);
  }

  /**
   * The school is told of every change of its case (open, each step, the overdue escalation): over
   * MQTT QoS 1 on its own `_gateway/{school}/canteen/case` once the change is durable (its canteen
   * terminals subscribe), and by webhook from the durable outbox, written in this same commit.
   */
  const caseTopic = topics(ctx.config.topicPrefix).canteenCase;
  const { url: hookUrl, secret: hookSecret, timeoutMs: hookTimeoutMs, maxBackoffMs } = ctx.config.canteenWebhook;
  const webhook = hookUrl && hookSecret ? new WebhookDeliverer({ secret: hookSecret, timeoutMs: hookTimeoutMs, maxBackoffMs, store, dispatcher, log: ctx.log }) : undefined;
  let lastSeq = 0;
  function notifySchool(c: Case, action: string, frame: Record<string, unknown>, tx: Tx): void {
    const id = deliveryId(c.id, action, c.history.length);
    const body = notificationBody(id, frame);
    tx.after(() => ctx.bus.publish(caseTopic(c.school), body, { qos: 1 }));
    if (!hookUrl || !webhook) return;
    // Commit order: a later step of a case always has a greater seq than an earlier one.
    lastSeq = Math.max(lastSeq + 1, tx.now * 1000);
    const url = webhookUrlFor(hookUrl, c.school);
    tx.put(OUTBOX_TABLE, outboxRow({ id, seq: lastSeq, url, school: c.school, case: c.id, body }));
    tx.after(() => webhook.poke(url));
  }

  const frameOf = (c: Case, nowMs: number) => {
    const { history: _h, ...rest } = c;
    return { ...rest, overdue: isOverdue(c, nowMs) };
  };

  /** Several gateways: how long the one that took a case's overdue escalation has to commit it. */
  const OVERDUE_LEASE_MS = 10_000;

  /** The overdue escalation: a job at the deadline of each case not closed and not yet escalated. */
  function arm(c: Case): void {
    const key = `canteen:overdue:${c.id}`;
    if (isClosed(c) || c.escalatedAt) return scheduler.cancel(key);
    if (scheduler.has(key)) return;
    scheduler.at(key, Date.parse(c.deadlineAt), async () => {
      if (store.claimJob) {
        // Several gateways hold the case (decision 0009): the one that takes the lease escalates it;
        // the others look again once it is over (by then its commit has reached them, or it died).
        const cur = open.get(c.id);
        if (!cur || cur.escalatedAt || !isOverdue(cur, ctx.now())) return;
        let mine: boolean;
        try {
          mine = await store.claimJob(key, OVERDUE_LEASE_MS);
        } catch (err) {
          ctx.log.error({ err, case: c.id }, 'could not take the overdue escalation’s lease; retrying in 5 s');
          return scheduler.at(key, ctx.now() + 5000, () => arm(open.get(c.id) ?? c));
        }
        if (!mine) return scheduler.at(key, ctx.now() + OVERDUE_LEASE_MS, () => arm(open.get(c.id) ?? c));
      }
      return dispatcher
        .transact((tx) => {
          const cur = open.get(c.id);
          if (!cur || cur.escalatedAt || !isOverdue(cur, tx.now)) return;
          const next: Case = { ...cur, escalatedAt: iso(tx.now) };
          tx.put('canteen_cases', row(next));
          open.set(next.id, next);
          const frame = { ...frameOf(next, tx.now), action: 'overdue', previous: cur.state, escalated: true };
          tx.feed('case', frame, tx.now);
          notifySchool(next, 'overdue', frame, tx);
          gauge(next.school, tx);
        })
        .catch((err) => {
          ctx.log.error({ err, case: c.id }, 'could not record the overdue escalation; retrying in 5 s');
          scheduler.at(key, ctx.now() + 5000, () => arm(open.get(c.id) ?? c));
        });
    });
  }

  function onAi(e: DomainEvent, tx: Tx): void {
    const device = e.device ? registry.devices.get(e.device) : undefined;
    if (!device || device.kind !== 'camera' || !(CANTEEN_ZONES as readonly string[]).includes(device.zone ?? '')) return;
    const d = e.data as AiPayload & { snapshot?: unknown; snapshotError?: string };
    const day = policy.localDay(e.atMs);
    const counts = aiDays.get(`${e.school}|${day}`) ?? {};
    counts[d.kind] = (counts[d.kind] ?? 0) + 1;
    aiDays.set(`${e.school}|${day}`, counts);
    tx.put('canteen_ai_days', { id: `${e.school}|${day}`, school: e.school, day, doc: { school: e.school, day, counts } });

    const rule = policy.aiRule(d.kind);
    const decision = decideAiEvent({ camera: device.id, area: device.area, kind: d.kind, confidence: d.confidence, atMs: e.atMs }, rule, openAi);
    if (decision.action === 'count') return;
    const snapshot = typeof d.snapshot === 'string' && SHA256_RE.test(d.snapshot) ? d.snapshot : undefined;
    const got = { sha256: snapshot, error: d.snapshotError };
    if (decision.action === 'join') {
      const cur = open.get(decision.caseId)!;
      const joined = joinEvent(cur, e.atMs);
      const next = withSnapshot(joined, got) ?? joined;
      open.set(next.id, next);
      openAi.set(caseKey(device.id, d.kind), { caseId: next.id, lastEventMs: Date.parse(next.lastEventAt) });
      tx.put('canteen_cases', row(next));
      return;
    }
    const name = KIND_NAMES[d.kind];
    const c: Case = {
      ...openCase({
        id: `ai-${device.id}-${d.kind}-${e.atMs}`,
        school: e.school,
        canteen: device.canteen,
        device: device.id,
        source: 'ai',
        kind: d.kind,
        reason: { zh: `${device.name}：${name.zh}`, en: `${device.nameEn ?? device.id}: ${name.en}` },
        atMs: e.atMs,
        deadlineHours: rule.deadlineHours,
        by: device.id,
        snapshot,
      }),
      ...(device.area ? { area: device.area } : {}),
      ...(!snapshot && d.snapshotError ? { snapshotError: d.snapshotError } : {}),
    };
    save(c, tx, 'open', null);
  }

  /**
   * The picture an `ai` event named by URL, fetched after its commit (the snapshots module): it goes
   * to the case that event opened or joined, the open case of its camera and kind whose events span
   * its time (decided so: no table of which event joined which case; an event counted only, under
   * the rule's confidence, within such a case illustrates it too, being the same camera and kind).
   */
  function onSnapshot(e: DomainEvent<'ai_snapshot'>, tx: Tx): void {
    const ref = e.device ? openAi.get(caseKey(e.device, e.data.kind)) : undefined;
    const cur = ref && open.get(ref.caseId);
    if (!cur || e.atMs < Date.parse(cur.openedAt) || e.atMs > Date.parse(cur.lastEventAt)) return;
    const next = withSnapshot(cur, e.data);
    if (!next) return;
    open.set(next.id, next);
    tx.put('canteen_cases', row(next));
    tx.feed('case', { ...frameOf(next, tx.now), action: 'snapshot', previous: cur.state, by: 'gateway' }, tx.now);
  }

  function onCommand(cmd: CaseCommand, tx: Tx): void {
    const cur = open.get(cmd.case) ?? closedCache.get(cmd.case);
    if (!cur) throw new CaseNotFound(`no case with id "${cmd.case}"`);
    const next = applyCaseAction(cur, cmd.action, { by: cmd.by, atMs: tx.now, note: cmd.note, photo: cmd.photo, measure: cmd.measure });
    // The photo's school, so the school's users (and no other school's) may read it (targets module).
    if (cmd.photo) tx.emit({ type: 'media', school: cur.school, atMs: tx.now, receivedAtMs: tx.now, data: { sha256: cmd.photo, school: cur.school } });
    closedCache.delete(cur.id);
    save(next, tx, cmd.action, cur.state);
  }
  /** A closed case an action is about to be refused for (409 with its state): read before the command. */
  const closedCache = new Map<string, Case>();

  // Records and their rules.
  const recordsOf = (school: string, day: string): DayRecords => {
    let byDay = records.get(school);
    if (!byDay) records.set(school, (byDay = new Map()));
    let d = byDay.get(day);
    if (!d) byDay.set(day, (d = emptyRecords()));
    return d;
  };
  const addRecord = (school: string, r: ParsedRecord) => {
    const atMs = r.kind === 'sample' ? r.takenAtMs : r.atMs;
    const d = recordsOf(school, policy.localDay(atMs));
    const { kind: _k, ...rest } = r;
    if (r.kind === 'sample') d.samples = [...d.samples.filter((x) => x.id !== r.id), rest as Sample];
    else if (r.kind === 'morning_check') d.checks = [...d.checks.filter((x) => x.id !== r.id), rest as MorningCheck];
    else if (r.kind === 'accompany') d.accompany = [...d.accompany.filter((x) => x.id !== r.id), rest as Accompany];
    else d.disinfection = [...d.disinfection.filter((x) => x.id !== r.id), rest as Disinfection];
    return atMs;
  };

  function dayInput(school: string, day: string): DayInput {
    const dayStartMs = policy.dayStartMs(day);
    const byDay = records.get(school);
    const mine = byDay?.get(day) ?? emptyRecords();
    const workers = new Set<string>();
    for (const [d, r] of byDay ?? []) if (d <= day && d >= policy.localDay(dayStartMs - ROSTER_DAYS * DAY_MS)) for (const c of r.checks) workers.add(c.person);
    return {
      dayStartMs,
      meals: policy.isSchoolDay(day) ? policy.mealsFor(school) : [],
      limits: policy.canteen.records,
      ...mine,
      workers: [...workers].map((person) => ({ person })),
    };
  }

  /** Opens a case per new finding of the school's day; arms the next wake-up (today's only). */
  function judge(school: string, day: string, tx: Tx): void {
    if (!records.has(school)) return; // not on the record system yet
    const { findings: found, nextAtMs } = judgeDay(dayInput(school, day), tx.now);
    for (const f of found) {
      const key = `${school}|${day}|${f.key}`;
      if (findings.has(key)) continue;
      findings.add(key);
      tx.put('canteen_findings', { id: key, school, day, doc: { school, day, key: f.key } });
      const c = openCase({
        id: `rec-${school}-${day}-${createHash('sha256').update(f.key).digest('hex').slice(0, 10)}`,
        school,
        source: 'record',
        finding: f.code,
        reason: f.reason,
        atMs: Math.min(f.atMs, tx.now),
        deadlineHours: policy.canteen.records.deadlineHours,
        by: 'scheduler',
      });
      save(c, tx, 'open', null);
    }
    // Record completeness per meal as points (each judgement overwrites the meal's point).
    const input = dayInput(school, day);
    const lines = mealLines(school, registry.schools.get(school)?.region, day, mealCompleteness(input, Math.min(tx.now, input.dayStartMs + DAY_MS)), tx.now);
    if (lines.length) tx.points(lines, tx.now);
    if (day === policy.localDay(tx.now)) {
      const wake = nextAtMs ?? policy.dayStartMs(day) + DAY_MS;
      tx.after(() => wakeAt(school, wake));
    }
  }
  const wakeAt = (school: string, ms: number) =>
    scheduler.at(`canteen:judge:${school}`, ms, () =>
      dispatcher.transact((tx) => judge(school, policy.localDay(tx.now), tx)).catch((err) => ctx.log.warn({ err, school }, 'judging canteen records failed')),
    );

  function onRecord(e: DomainEvent<'canteen_record'>, tx: Tx): void {
    const { school, record } = e.data;
    const atMs = addRecord(school, record);
    const day = policy.localDay(atMs);
    tx.put('canteen_records', { id: `${school}|${record.id}`, school, day, kind: record.kind, at: atMs, doc: { ...e.data, day } });
    // A record dated well before it arrives is part of a late upload (a day's book sent at once):
    // judged at each record, the rest of the book would be found "missing". Its day is judged once
    // the school's late records stop coming, as the targets module closes past days.
    if (tx.now - atMs > LATE_RECORD_MS) return lateRecord(school, day, tx);
    judge(school, day, tx);
  }
  /**
   * Days with late records per school, judged LATE_QUIET_MS after the school's last one. Kept in
   * `canteen_late_days` too (pending until judged), so a restart in the quiet time still judges them.
   */
  const lateDays = new Map<string, Set<string>>();
  function lateRecord(school: string, day: string, tx: Tx): void {
    const days = lateDays.get(school) ?? new Set<string>();
    lateDays.set(school, days.add(day));
    tx.put('canteen_late_days', { id: `${school}|${day}`, school, day, pending: 1 });
    tx.after(() => armLate(school));
  }
  function armLate(school: string): void {
    scheduler.at(`canteen:late:${school}`, ctx.now() + LATE_QUIET_MS, () =>
      dispatcher
        .transact((t) => {
          const pending = [...(lateDays.get(school) ?? [])].sort();
          lateDays.delete(school);
          for (const d of pending) {
            judge(school, d, t);
            t.put('canteen_late_days', { id: `${school}|${d}`, school, day: d, pending: 0 });
          }
        })
        .catch((err) => ctx.log.warn({ err, school }, 'judging late canteen records failed')),
    );
  }

  /** A failed canteen inspection (the targets module's `inspection` event) opens a case. */
  function onInspection(e: DomainEvent, tx: Tx): void {
    const i = e.data as InspectionFact;
    const canteens = (registry.schools.get(i.school)?.canteens ?? []).map((c) => c.id);
    const input = caseFromInspection(i, canteens, policy.canteen.inspections.deadlineHours);
    if (!input || open.has(input.id)) return;
    const { item, inspection, ...rest } = input;
    save({ ...openCase(rest), item: item as Case['item'], inspection }, tx, 'open', null);
  }

  /**
   * A canteen terminal's record over MQTT (contract §8): the same checks as the HTTP route
   * (`intake.ts`), refused on `_gateway/rejected` with the same reason, and the same event; its
   * `id` is required and is the dedupe key with the terminal (a redelivery is stored once).
   */
  function recordFromTerminal(input: DeviceInput): { event: DomainEvent } | { refused: string } {
    const b = input.payload as CanteenRecord;
    const terminal = input.device;
    if (b.school !== terminal.school) return { refused: `school: "${b.school}" is not the terminal's school "${terminal.school}"` };
    if (b.id === undefined) return { refused: 'missing field "id": a record sent over MQTT names its own id, so a redelivery is stored once' };
    const got = intakeRecord(b, registry, policy, input.receivedAtMs, () => b.id!);
    if (!got.ok) return { refused: `${got.code}: ${got.reason}` };
    return {
      event: {
        type: 'canteen_record',
        school: got.school,
        device: terminal.id,
        sourceId: got.record.id,
        atMs: got.atMs,
        receivedAtMs: input.receivedAtMs,
        data: { school: got.school, canteen: got.canteen, record: got.record, by: terminal.id },
      },
    };
  }

  async function get(id: string): Promise<CaseView | undefined> {
    const c = open.get(id) ?? (await store.get<Case>('canteen_cases', id));
    return c && view(c);
  }

  function coverage(school: string) {
    const s = registry.schools.get(school)!;
    const live = ctx.module<DevicesModule>('devices').records;
    const required = new Set<string>();
    for (const c of s.canteens ?? []) for (const a of c.areas) if (policy.canteen.requiredAreas.includes(a)) required.add(`${c.id}/${a}`);
    const covered = new Set<string>();
    for (const d of registry.devices.values())
      if (d.school === school && d.kind === 'camera' && d.canteen && d.area && live.get(d.id)?.online === true) covered.add(`${d.canteen}/${d.area}`);
    const hit = [...required].filter((k) => covered.has(k));
    return { required: required.size, covered: hit.length, rate: required.size ? hit.length / required.size : null, missing: [...required].filter((k) => !covered.has(k)) };
  }

  return {
    name: 'canteen',
    dependsOn: ['devices'],
    consumes: ['ai', 'ai_snapshot', 'canteen_case', 'canteen_record', 'inspection'],
    frames: ['case'],
    deviceInputs: { record: recordFromTerminal },
    tables: [
      { name: 'canteen_cases', key: 'id', columns: { id: 'text', school: 'text', state: 'text', source: 'text', opened: 'integer', device: 'text', kind: 'text' }, doc: true, indexes: [{ columns: ['state', 'opened'] }, { columns: ['school', 'opened'] }] },
      { name: 'canteen_ai_days', key: 'id', columns: { id: 'text', school: 'text', day: 'text' }, doc: true, indexes: [{ columns: ['day'] }] },
      { name: 'canteen_records', key: 'id', columns: { id: 'text', school: 'text', day: 'text', kind: 'text', at: 'integer' }, doc: true, indexes: [{ columns: ['day', 'school'] }] },
      { name: 'canteen_findings', key: 'id', columns: { id: 'text', school: 'text', day: 'text' }, doc: true, indexes: [{ columns: ['day'] }] },
      { name: 'canteen_late_days', key: 'id', columns: { id: 'text', school: 'text', day: 'text', pending: 'integer' }, indexes: [{ columns: ['pending'] }] },
      OUTBOX_SPEC,
    ],

    // Another gateway's commits (decision 0009): its cases, records and findings, from the tables;
    // open cases re-arm their deadline (a timer of a case closed there finds nothing to do).
    async refresh() {
      await this.load!();
      for (const c of open.values()) arm(c);
    },

    async load() {
      open.clear();
      openAi.clear();
      aiDays.clear();
      records.clear();
      findings.clear();
      closedCache.clear();
      lateDays.clear();
      for (const c of await store.find<Case>('canteen_cases', { where: [['state', '<>', 'closed']] })) {
        open.set(c.id, c);
        if (c.source === 'ai' && c.device && c.kind) openAi.set(caseKey(c.device, c.kind), { caseId: c.id, lastEventMs: Date.parse(c.lastEventAt) });
      }
      const oldest = policy.localDay(ctx.now() - (ROSTER_DAYS + 1) * DAY_MS);
      for (const r of await store.find<{ school: string; counts: Partial<Record<AiKind, number>>; day: string }>('canteen_ai_days', { where: [['day', '>=', oldest]] })) aiDays.set(`${r.school}|${r.day}`, r.counts);
      for (const r of await store.find<{ school: string; record: ParsedRecord }>('canteen_records', { where: [['day', '>=', oldest]], orderBy: [['at', 'asc']] })) addRecord(r.school, r.record);
      for (const r of await store.find<{ id: string }>('canteen_findings', { where: [['day', '>=', oldest]] })) findings.add(r.id);
      for (const r of await store.find<{ school: string; day: string }>('canteen_late_days', { where: [['pending', '=', 1]] })) lateDays.set(r.school, (lateDays.get(r.school) ?? new Set<string>()).add(r.day));
      const [newest] = await store.find<OutboxDoc>(OUTBOX_TABLE, { orderBy: [['seq', 'desc']], limit: 1 });
      lastSeq = Math.max(lastSeq, newest?.seq ?? 0);
    },

    async start() {
      // Restart-safe: every open case re-arms its deadline (one already past fires at once), and
      // every school on the record system is judged for today (deadlines passed while away).
      for (const c of open.values()) arm(c);
      // Late uploads cut off by a restart are judged after a fresh quiet time.
      for (const school of lateDays.keys()) armLate(school);
      // Notifications not yet delivered before a restart go out first, in order.
      await webhook?.resume();
      await dispatcher.transact((tx) => {
        for (const school of canteenSchools) judge(school, policy.localDay(tx.now), tx);
      });
    },

    // The webhook's state; a failing receiver does not degrade the gateway (its outbox keeps everything).
    async health() {
      return webhook ? { canteenWebhook: await webhook.status() } : {};
    },

    async stop() {
      await webhook?.stop();
      for (const id of open.keys()) scheduler.cancel(`canteen:overdue:${id}`);
      for (const school of canteenSchools) scheduler.cancel(`canteen:judge:${school}`);
      for (const school of lateDays.keys()) scheduler.cancel(`canteen:late:${school}`);
    },

    apply(e, tx) {
      if (e.type === 'ai') return onAi(e, tx);
      if (e.type === 'ai_snapshot') return onSnapshot(e as DomainEvent<'ai_snapshot'>, tx);
      if (e.type === 'canteen_case') return onCommand(e.data as CaseCommand, tx);
      if (e.type === 'canteen_record') return onRecord(e as DomainEvent<'canteen_record'>, tx);
      if (e.type === 'inspection') return onInspection(e, tx);
    },

    get,

    async list({ state, school, limit = 200 }) {
      const where: [string, '=' | '<>', string][] = [];
      if (state === 'overdue') where.push(['state', '<>', 'closed']);
      else if (state) where.push(['state', '=', state]);
      if (school) where.push(['school', '=', school]);
      const now = ctx.now();
      let rows = (await store.find<Case>('canteen_cases', { where, orderBy: [['opened', 'desc']], limit: state === 'overdue' ? undefined : limit })).map((c) => view(open.get(c.id) ?? c, now));
      if (state === 'overdue') rows = rows.filter((c) => c.overdue).slice(0, limit);
      return rows;
    },

    async records(day, school) {
      const where: [string, '=', string][] = [['day', '=', day]];
      if (school) where.push(['school', '=', school]);
      const rows = await store.find<{ school: string; canteen?: string; record: ParsedRecord; by: string; day: string }>('canteen_records', { where, orderBy: [['at', 'asc']] });
      return rows.map(recordView);
    },

    async act(cmd, school) {
      if (!open.has(cmd.case)) {
        const stored = await store.get<Case>('canteen_cases', cmd.case);
        if (stored) closedCache.set(stored.id, stored);
      }
      try {
        await dispatcher.execute({ type: 'canteen_case', school, atMs: ctx.now(), receivedAtMs: ctx.now(), data: cmd });
      } finally {
        closedCache.delete(cmd.case);
      }
      return (await get(cmd.case))!;
    },

    summary(day, only) {
      const nowMs = ctx.now();
      return canteenSchools
        .filter((s) => !only || s === only)
        .map((school) => {
          const mine = [...open.values()].filter((c) => c.school === school);
          const input = dayInput(school, day);
          return {
            school,
            coverage: coverage(school),
            aiEvents: aiDays.get(`${school}|${day}`) ?? {},
            cases: { open: mine.length, overdue: mine.filter((c) => isOverdue(c, nowMs)).length },
            meals: mealCompleteness(input, Math.min(nowMs, input.dayStartMs + DAY_MS)),
          };
        });
    },

    snapshot(school) {
      const nowMs = ctx.now();
      const cases = [...open.values()]
        .filter((c) => !school || c.school === school)
        .sort((a, b) => b.openedAt.localeCompare(a.openedAt))
        .map((c) => frameOf(c, nowMs));
      return { canteen: { cases, open: cases.length, overdue: cases.filter((c) => c.overdue).length } };
    },

    async routes(app) {
      await app.register(canteenRoutes);
      await app.register(canteenReportRoutes);
    },
  };
}
