/**
 * Contract §8: canteens (明厨亮灶): rectification cases (整改) and their ledger, and the canteen's
 * records (留样, 晨检, 陪餐, 消毒). Schemas here, types from them; the routes, the screen and the
 * simulator share them.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, WireTime, lit } from './common.js';
import { AI_KINDS, CANTEEN_AREAS } from './mqtt.js';

export const CASE_STATES = ['open', 'notified', 'rectifying', 'submitted', 'closed'] as const;
export type CaseState = (typeof CASE_STATES)[number];
export const CASE_ACTIONS = ['notify', 'start', 'submit', 'close', 'reject'] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];
/** What opened a case: an AI event, a missing or abnormal record, a failed inspection. */
export const CASE_SOURCES = ['ai', 'record', 'inspection'] as const;
export type CaseSource = (typeof CASE_SOURCES)[number];
/**
 * Inspection items of a canteen (`POST /api/inspections` `item`): a failed one opens a case
 * (source `inspection`). One general item and the four the 2019 rules name as their own duties.
 */
export const CANTEEN_INSPECTION_ITEMS = ['canteen', 'canteen_hygiene', 'canteen_storage', 'canteen_sample', 'canteen_disinfection'] as const;
export type CanteenInspectionItem = (typeof CANTEEN_INSPECTION_ITEMS)[number];
export const CANTEEN_INSPECTION_NAMES: Record<CanteenInspectionItem, Reason> = {
  canteen: { zh: '食堂检查', en: 'canteen inspection' },
  canteen_hygiene: { zh: '后厨卫生', en: 'kitchen hygiene' },
  canteen_storage: { zh: '库房', en: 'storage room' },
  canteen_sample: { zh: '留样', en: 'food samples' },
  canteen_disinfection: { zh: '消毒', en: 'disinfection' },
};
export const isCanteenInspectionItem = (item: string): item is CanteenInspectionItem => (CANTEEN_INSPECTION_ITEMS as readonly string[]).includes(item);

/** The record findings that open a case (gateway/modules/canteen/records.ts). */
export const FINDING_CODES = [
  'sample_missing', 'dish_unsampled', 'sample_underweight', 'sample_short_keep',
  'morning_check_missing', 'morning_check_abnormal', 'accompany_missing',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

const SHA256 = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'a photo\'s SHA-256 in the media store' });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const Reason = Type.Object({ zh: Type.String(), en: Type.String() });
export type Reason = Static<typeof Reason>;

/** One step of a case: who, when, and what they said; `submit` carries the photo and the measure taken. */
export const CaseEntry = Type.Object({
  action: lit(['open', ...CASE_ACTIONS] as const),
  /** The state after the step. */
  state: lit(CASE_STATES),
  by: Type.String(),
  at: Type.String({ description: 'ISO-8601' }),
  note: Type.Optional(Type.String()),
  photo: Type.Optional(SHA256),
  measure: Type.Optional(Type.String()),
});
export type CaseEntry = Static<typeof CaseEntry>;

export const Case = Type.Object({
  id: Type.String(),
  school: Id,
  canteen: Type.Optional(Id),
  /** The camera, for a case from an AI event. */
  device: Type.Optional(Id),
  /** The canteen area the camera watches (registry), for a case from an AI event. */
  area: Type.Optional(lit(CANTEEN_AREAS)),
  source: lit(CASE_SOURCES),
  /** The AI kind (source `ai`). */
  kind: Type.Optional(lit(AI_KINDS)),
  /** The record finding (source `record`). */
  finding: Type.Optional(lit(FINDING_CODES)),
  /** The inspection item that failed (source `inspection`). */
  item: Type.Optional(lit(CANTEEN_INSPECTION_ITEMS)),
  /** The failed inspection's id (source `inspection`). */
  inspection: Type.Optional(Type.String()),
  reason: Reason,
  state: lit(CASE_STATES),
  openedAt: Type.String(),
  /** Past this (and not closed) the case is overdue: derived, never a state. */
  deadlineAt: Type.String(),
  /** Events that joined it (an AI case: every frame of the same rat within the dedupe window). */
  events: Type.Integer({ minimum: 1 }),
  lastEventAt: Type.String(),
  /** The first snapshot of its events in the media store (pushed, fetched from the event's `snapshotUrl`, or an inspection's photo). */
  snapshot: Type.Optional(SHA256),
  /** Why its events' pictures could not be had (while it has no `snapshot`): `picture not fetched: HTTP 404`… */
  snapshotError: Type.Optional(Type.String()),
  /** When the overdue escalation went out (once per case; the flag itself is derived from `deadlineAt`). */
  escalatedAt: Type.Optional(Type.String()),
  history: Type.Array(CaseEntry),
});
export type Case = Static<typeof Case>;

/**
 * What the school is told of each change of a case (MQTT `_gateway/{school}/canteen/case` and the
 * webhook): the live `case` frame (the case without its history) with its stable delivery id.
 */
export const CaseNotification = Type.Intersect([
  Type.Omit(Case, ['history']),
  Type.Object({
    deliveryId: Type.String({ description: '`{case id}/{step number}` (1: opened) or `{case id}/overdue`: the same change always has the same id (dedupe key)' }),
    overdue: Type.Boolean(),
    action: lit(['open', ...CASE_ACTIONS, 'overdue'] as const),
    previous: Type.Union([lit(CASE_STATES), Type.Null()], { description: 'the state before; null on open' }),
    by: Type.Optional(Type.String()),
    note: Type.Optional(Type.String()),
    escalated: Type.Optional(Type.Boolean({ description: 'the overdue escalation (once per case)' })),
  }),
]);
export type CaseNotification = Static<typeof CaseNotification>;

/** The body of `POST /api/canteen/cases/{id}/{action}`. */
export const CaseActionBody = Type.Object(
  {
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    /** `submit`: the rectification photo, by its SHA-256 in the media store. */
    photo: Type.Optional(SHA256),
    /** `submit`: the measure taken (已更换防鼠网…). */
    measure: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type CaseActionBody = Static<typeof CaseActionBody>;

// Records (contract §8): in canteen-records.ts, which the MQTT topic table imports too.
export * from './canteen-records.js';
