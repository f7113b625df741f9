/**
 * Contract §8 records (留样, 晨检, 陪餐, 消毒): the body of `POST /api/canteen/records` and of the MQTT
 * `record` topic of a canteen terminal. Apart from canteen.ts so that mqtt.ts can import them
 * (canteen.ts imports mqtt.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import { Id, WireTime, lit } from './common.js';

const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

// Records (contract §8: `POST /api/canteen/records`). Times on the wire as everywhere (ISO with an
// offset, or epoch ms); the record's own time is `takenAt` for a sample and `at` for the others.
const RecordBase = { school: Id, canteen: Type.Optional(Id), id: Type.Optional(Text(128)) };

export const SampleRecord = Type.Object(
  {
    kind: Type.Literal('sample'),
    ...RecordBase,
    dish: Text(128),
    meal: Id,
    /** Weight in grams (art. 40: at least 125 g). */
    grams: Type.Number(),
    takenAt: WireTime,
    keptUntil: WireTime,
    person: Text(64),
    /**
     * The meal's full menu, on any of its samples (the union counts): every dish on it needs a
     * sample. Without one, the meal's dishes are those sampled.
     */
    menu: Type.Optional(Type.Array(Text(128), { maxItems: 64 })),
  },
  { additionalProperties: false },
);
export const MorningCheckRecord = Type.Object(
  {
    kind: Type.Literal('morning_check'),
    ...RecordBase,
    person: Text(64),
    result: lit(['normal', 'abnormal'] as const),
    /** 发热, 腹泻, 皮肤伤口… (with `abnormal`). */
    symptom: Type.Optional(Type.String({ maxLength: 256 })),
    at: WireTime,
  },
  { additionalProperties: false },
);
export const AccompanyRecord = Type.Object(
  { kind: Type.Literal('accompany'), ...RecordBase, leader: Text(64), meal: Id, at: WireTime, note: Type.Optional(Type.String({ maxLength: 2000 })) },
  { additionalProperties: false },
);
export const DisinfectionRecord = Type.Object(
  { kind: Type.Literal('disinfection'), ...RecordBase, what: Text(128), method: Text(128), meal: Id, at: WireTime, person: Type.Optional(Text(64)) },
  { additionalProperties: false },
);
export const CanteenRecord = Type.Union([SampleRecord, MorningCheckRecord, AccompanyRecord, DisinfectionRecord]);
export type SampleRecord = Static<typeof SampleRecord>;
export type MorningCheckRecord = Static<typeof MorningCheckRecord>;
export type AccompanyRecord = Static<typeof AccompanyRecord>;
export type DisinfectionRecord = Static<typeof DisinfectionRecord>;
export type CanteenRecord = Static<typeof CanteenRecord>;
export const RECORD_KINDS = ['sample', 'morning_check', 'accompany', 'disinfection'] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];
