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
import { CHECKIN_ROLES } from './mqtt.js';
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

const days = (def: number, max = 3650) => Type.Integer({ minimum: 1, maximum: max, default: def });
const minutes = (def: number, max = 24 * 60) => Type.Integer({ minimum: 1, maximum: max, default: def });

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
  },
  OPEN,
);

export type Policy = Static<typeof Policy>;
export type TimeWindow = Static<typeof TimeWindow>;
export type PeakWindow = Static<typeof PeakWindow>;
export type Scope = Static<typeof Scope>;
