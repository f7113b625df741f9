/**
 * The county's policy (`POLICY`, contract §7–§8): the 6 × 100% targets' thresholds and scope, the
 * school calendar, and each school's open and peak windows. Rules, never code: provinces differ,
 * and every default here is documented with its source in docs/policy.md.
 *
 * Times of day are the county's local time (`utcOffset`, e.g. `+08:00`: China has one offset and
 * no daylight saving), written `HH:MM`; dates are local `YYYY-MM-DD`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, lit } from './common.js';
import { AI_KINDS, CANTEEN_AREAS, CHECKIN_ROLES, type AiKind, type CanteenArea } from './mqtt.js';
import { CAMERA_PLACES, SCHOOL_AREAS } from './registry.js';

export const TARGET_IDS = ['closed_campus', 'guard_posts', 'security_guards', 'hard_barriers', 'one_key_alarm', 'video_networked'] as const;
export type TargetId = (typeof TARGET_IDS)[number];

const HHMM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$', description: 'local time of day, HH:MM' });
const DATE = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'local date, YYYY-MM-DD' });
const OPEN = { additionalProperties: false };
/** Contract §7: gate inside and outside, 门卫室, canteen kitchen. */
export const DEFAULT_REQUIRED_PLACES = ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen'] as const;

export const TimeWindow = Type.Object({ from: HHMM, to: HHMM }, OPEN);
export const PeakWindow = Type.Object({ id: Id, name: Type.String({ minLength: 1, maxLength: 64 }), nameEn: Type.Optional(Type.String({ maxLength: 64 })), from: HHMM, to: HHMM }, OPEN);
export const DateRange = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), from: DATE, to: DATE }, OPEN);

/** Which schools a target applies to. Absent: every school. */
export const Scope = Type.Object(
  {
    areas: Type.Optional(Type.Array(lit(SCHOOL_AREAS), { minItems: 1 })),
    /** Listed schools are out of scope whatever their area (e.g. a school under construction). */
    exclude: Type.Optional(Type.Array(Id)),
  },
  OPEN,
);

/**
 * Contract §8 defaults, documented with their sources in docs/policy.md. The kitchen areas are every
 * area but 就餐 (dining): what 明厨亮灶 must show is where food is handled and kept.
 */
export const DEFAULT_REQUIRED_AREAS: readonly CanteenArea[] = ['processing', 'special_room', 'serving', 'washing', 'storage', 'sample'];
const KITCHEN: readonly CanteenArea[] = DEFAULT_REQUIRED_AREAS;
/** Where each AI kind means something (a rat anywhere; a missing mask where ready-to-eat food is handled). */
export const DEFAULT_AI_AREAS: Record<AiKind, readonly CanteenArea[]> = {
  no_hat: KITCHEN, no_uniform: KITCHEN, bare_chested: KITCHEN, smoking: CANTEEN_AREAS, phone: KITCHEN, off_post: KITCHEN,
  no_mask: ['processing', 'special_room', 'serving'], no_gloves: ['special_room', 'serving'],
  rodent: CANTEEN_AREAS, animal: CANTEEN_AREAS, other: CANTEEN_AREAS,
  bin_uncovered: ['processing', 'special_room', 'serving', 'washing'], fire_unattended: ['processing'],
  intrusion: ['special_room', 'storage', 'sample'],
};
/** Contract §8: a case is overdue after 24 h, after 2 h for a rat or an unattended fire. */
export const DEFAULT_AI_DEADLINE_HOURS = (kind: AiKind): number => (kind === 'rodent' || kind === 'fire_unattended' ? 2 : 24);

const days = (def: number, max = 3650) => Type.Integer({ minimum: 1, maximum: max, default: def });
const minutes = (def: number, max = 24 * 60) => Type.Integer({ minimum: 1, maximum: max, default: def });

const AreaList = (def: readonly CanteenArea[]) => Type.Array(lit(CANTEEN_AREAS), { minItems: 1, maxItems: CANTEEN_AREAS.length, default: [...def] });

/** One AI kind's rule (contract §8): where it applies, how sure the camera must be, how events group into cases. */
const aiRule = (kind: AiKind) =>
  Type.Object(
    {
      /** The canteen areas it applies to; an event from a camera in another area is counted, not a case. */
      areas: AreaList(DEFAULT_AI_AREAS[kind]),
      /** Events below this confidence are counted, not a case (an event with no confidence is taken as sure). */
      minConfidence: Type.Number({ minimum: 0, maximum: 1, default: 0.6 }),
      /** Events of this kind from one camera within this many minutes of the case's last event join that case. */
      dedupeWindowMin: minutes(10),
      /** The case is overdue this many hours after it opened. */
      deadlineHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: DEFAULT_AI_DEADLINE_HOURS(kind) }),
    },
    { ...OPEN, default: {} },
  );

/** A meal of the school day and when it is served (contract §8: each school's meals on school days). */
export const Meal = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 64 }),
    nameEn: Type.Optional(Type.String({ maxLength: 64 })),
    /** Serving starts (HH:MM, local). */
    from: HHMM,
    /** Serving ends (exclusive). */
    to: HHMM,
  },
  OPEN,
);

const DEFAULT_MEALS = [
  { id: 'breakfast', name: '早餐', nameEn: 'Breakfast', from: '06:40', to: '07:20' },
  { id: 'lunch', name: '午餐', nameEn: 'Lunch', from: '11:40', to: '12:30' },
  { id: 'dinner', name: '晚餐', nameEn: 'Dinner', from: '17:30', to: '18:20' },
];

export const CanteenPolicy = Type.Object(
  {
    /** The areas a canteen must show with a working camera (coverage), where the canteen has them. */
    requiredAreas: AreaList(DEFAULT_REQUIRED_AREAS),
    /** One rule per AI kind. */
    ai: Type.Object(Object.fromEntries(AI_KINDS.map((k) => [k, aiRule(k)])) as { [K in AiKind]: ReturnType<typeof aiRule> }, { ...OPEN, default: {} }),
    /** The county's meals of a school day. */
    meals: Type.Array(Meal, { minItems: 1, maxItems: 8, default: DEFAULT_MEALS }),
    /** The meals of a school with boarders (`boarders` > 0 in the registry): three. */
    boardingMeals: Type.Array(Id, { minItems: 1, default: ['breakfast', 'lunch', 'dinner'] }),
    /** The meals of a school without boarders: lunch. */
    dayMeals: Type.Array(Id, { minItems: 1, default: ['lunch'] }),
    /** A school's own meals instead (a kindergarten serving breakfast and lunch); an empty list: its canteen serves none. */
    schoolMeals: Type.Record(Id, Type.Array(Id), { default: {} }),
    records: Type.Object(
      {
        /** 留样: every dish of a meal sampled no later than this many minutes after serving starts. */
        sampleWithinMin: minutes(30),
        /** 留样: at least this many grams of each dish (art. 40: 125 g). */
        sampleMinGrams: Type.Integer({ minimum: 1, maximum: 10_000, default: 125 }),
        /** 留样: kept at least this many hours (art. 40: 48 h). */
        sampleMinKeepHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 48 }),
        /** 晨检: a worker's shift starts this many minutes before the day's first meal is served, unless the roster says. */
        shiftLeadMin: minutes(120),
        /** 陪餐: the leader's record is due this many minutes after the meal's serving ends. */
        accompanyGraceMin: minutes(30),
        /** A case opened from a missing or abnormal record is overdue after this many hours. */
        deadlineHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 24 }),
      },
      { ...OPEN, default: {} },
    ),
    inspections: Type.Object(
      {
        /** A case opened from a failed canteen inspection is overdue after this many hours. */
        deadlineHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 24 }),
      },
      { ...OPEN, default: {} },
    ),
  },
  { ...OPEN, default: {} },
);

export const Policy = Type.Object(
  {
    version: Type.Literal(1),
    /** The county's offset from UTC, `+08:00`. */
    utcOffset: Type.String({ pattern: '^[+-](0[0-9]|1[0-4]):[0-5][0-9]$' }),
    calendar: Type.Object(
      {
        /** School terms: only days inside one can be school days. */
        terms: Type.Array(DateRange, { minItems: 1 }),
        /** ISO weekdays that are school days (1 = Monday … 7 = Sunday). */
        weekdays: Type.Array(Type.Integer({ minimum: 1, maximum: 7 }), { minItems: 1, maxItems: 7 }),
        /** Days off inside a term (national holidays, 放假). */
        holidays: Type.Array(DateRange, { default: [] }),
        /** Weekend days that are school days (调休补课). */
        extraSchoolDays: Type.Array(DATE, { default: [] }),
      },
      OPEN,
    ),
    windows: Type.Object(
      {
        /** When the gates may stand open (arrival, lunch, dismissal); outside them they are closed. */
        open: Type.Array(TimeWindow, { minItems: 1 }),
        /** Arrival and dismissal peaks, when every gate post is staffed (护学岗). */
        peaks: Type.Array(PeakWindow, { minItems: 1 }),
      },
      OPEN,
    ),
    /** A school's own windows instead of the county's (a kindergarten's later arrival). */
    schools: Type.Record(Id, Type.Object({ open: Type.Optional(Type.Array(TimeWindow, { minItems: 1 })), peaks: Type.Optional(Type.Array(PeakWindow, { minItems: 1 })) }, OPEN), { default: {} }),
    targets: Type.Object(
      {
        closed_campus: Type.Object(
          {
            scope: Type.Optional(Scope),
            /** A gate open longer than this outside the open windows fails the day. */
            gateOpenGraceMin: minutes(15),
            /** The gatehouse needs a guard check-in in every slot of this many hours. */
            gatehouseSlotHours: Type.Integer({ minimum: 1, maximum: 24, default: 2 }),
            perimeterInspectionMaxAgeDays: days(120),
          },
          { ...OPEN, default: {} },
        ),
        guard_posts: Type.Object(
          {
            scope: Type.Optional(Scope),
            minPeoplePerPost: Type.Integer({ minimum: 1, maximum: 20, default: 2 }),
            roles: Type.Array(lit(CHECKIN_ROLES), { minItems: 1, default: [...CHECKIN_ROLES] }),
          },
          { ...OPEN, default: {} },
        ),
        security_guards: Type.Object(
          {
            scope: Type.Optional(Scope),
            base: Type.Integer({ minimum: 0, maximum: 50, default: 2 }),
            /** Above this many students, one more guard per `studentsPerExtra` or part. */
            studentsThreshold: Type.Integer({ minimum: 0, maximum: 100_000, default: 1000 }),
            studentsPerExtra: Type.Integer({ minimum: 1, maximum: 100_000, default: 500 }),
            /** One more guard per this many boarders or part. */
            boardersPerExtra: Type.Integer({ minimum: 1, maximum: 100_000, default: 200 }),
          },
          { ...OPEN, default: {} },
        ),
        hard_barriers: Type.Object(
          {
            scope: Type.Optional(Scope),
            inspectionMaxAgeDays: days(120),
            photoRequired: Type.Boolean({ default: true }),
          },
          { ...OPEN, default: {} },
        ),
        one_key_alarm: Type.Object(
          {
            scope: Type.Optional(Scope),
            maxDownHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 24 }),
            testPressMaxAgeDays: days(31, 366),
          },
          { ...OPEN, default: {} },
        ),
        video_networked: Type.Object(
          {
            scope: Type.Optional(Scope),
            maxDownHours: Type.Integer({ minimum: 1, maximum: 24 * 30, default: 24 }),
            uplinkMaxAgeMin: minutes(10),
            requiredPlaces: Type.Array(lit(CAMERA_PLACES), { default: [...DEFAULT_REQUIRED_PLACES] }),
          },
          { ...OPEN, default: {} },
        ),
      },
      { ...OPEN, default: {} },
    ),
    /** Contract §8: canteens (明厨亮灶). */
    canteen: CanteenPolicy,
  },
  OPEN,
);

export type Policy = Static<typeof Policy>;
export type CanteenPolicy = Static<typeof CanteenPolicy>;
export type Meal = Static<typeof Meal>;
export type AiRule = CanteenPolicy['ai'][AiKind];
export type TimeWindow = Static<typeof TimeWindow>;
export type PeakWindow = Static<typeof PeakWindow>;
export type Scope = Static<typeof Scope>;
