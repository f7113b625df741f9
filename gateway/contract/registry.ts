/** The school/device registry (config/county.json): its schema and types. Validated at start. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, lit } from './common.js';
import { CAMERA_ZONES, DEVICE_KINDS } from './mqtt.js';


export const SCHOOL_TYPES = ['kindergarten', 'primary', 'middle', 'high', 'nine_year', 'vocational', 'special'] as const;
/** Contract §7: city, town or countryside; the policy puts targets in scope by it (护学岗: city and town). */
export const SCHOOL_AREAS = ['urban', 'town', 'rural'] as const;
/**
 * What a camera looks at, for the `video_networked` rule's required places (contract §7, GB/T 29315):
 * the gate from inside and outside, the gatehouse (门卫室), the canteen kitchen and entrances,
 * gathering places, corridors, dormitory entrances, kindergarten rooms.
 */
export const CAMERA_PLACES = ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen', 'canteen_entrance', 'gathering', 'corridor', 'dormitory_entrance', 'kindergarten_room', 'perimeter', 'other'] as const;
/** The post id every school has: its gatehouse (门卫室), staffed around the clock. */
export const GATEHOUSE_POST = 'gatehouse';

export const RegistryGate = Type.Object(
  {
    /** Unique within the school (`main`, `east`). */
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    nameEn: Type.Optional(Type.String({ maxLength: 128 })),
    /** Its guard posts (护学岗), each staffed in the peak windows; ids unique within the school. */
    posts: Type.Array(Id, { minItems: 1, maxItems: 16 }),
  },
  { additionalProperties: false },
);

export const RegistryDevice = Type.Object(
  {
    id: Id,
    kind: lit(DEVICE_KINDS),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    nameEn: Type.Optional(Type.String({ maxLength: 128 })),
    /** Where it is, in words a guard understands ("校门岗亭", "duty room"). */
    place: Type.Optional(Type.String({ maxLength: 128 })),
    zone: Type.Optional(lit(CAMERA_ZONES)),
    /** Overrides the kind's default heartbeat interval. */
    heartbeatIntervalSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    /** ONVIF device service URL of a camera (credentials never here). */
    onvif: Type.Optional(Type.String({ maxLength: 512 })),
    /** A camera: the places it covers (the `video_networked` rule's required places). */
    covers: Type.Optional(Type.Array(lit(CAMERA_PLACES), { maxItems: 8 })),
    /** A gate controller: the id of the school's gate it opens. */
    gate: Type.Optional(Id),
    /** A check-in terminal: the post it stands at (a gate post, or `gatehouse`); its check-ins may still name any post of the school. */
    post: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const RegistrySchool = Type.Object(
  {
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    nameEn: Type.Optional(Type.String({ maxLength: 128 })),
    type: lit(SCHOOL_TYPES),
    students: Type.Integer({ minimum: 0, maximum: 100_000 }),
    /** Students who board (住校生): one more guard per 200 or part (contract §7). Absent: 0. */
    boarders: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    /** Absent: in scope for every target whatever the policy says of areas (and the targets say so). */
    area: Type.Optional(lit(SCHOOL_AREAS)),
    /** The school's gates and their guard posts. Absent: none registered (guard posts are then unknown). */
    gates: Type.Optional(Type.Array(RegistryGate, { maxItems: 32 })),
    /** Administrative region (township), so a city or province gateway can group schools. */
    region: Type.String({ minLength: 1, maxLength: 64 }),
    address: Type.Optional(Type.String({ maxLength: 256 })),
    devices: Type.Array(RegistryDevice),
  },
  { additionalProperties: false },
);

export const Registry = Type.Object(
  {
    version: Type.Literal(1),
    county: Type.Object(
      {
        id: Id,
        name: Type.String({ minLength: 1 }),
        nameEn: Type.Optional(Type.String()),
        region: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    defaults: Type.Object(
      {
        heartbeatIntervalSec: Type.Object(
          {
            alarm_button: Type.Integer({ minimum: 1 }),
            camera: Type.Integer({ minimum: 1 }),
            gate: Type.Integer({ minimum: 1 }),
            checkin_terminal: Type.Integer({ minimum: 1 }),
            /** Absent: 60 s (GB/T 28181 keepalive). */
            nvr: Type.Optional(Type.Integer({ minimum: 1 })),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    schools: Type.Array(RegistrySchool, { minItems: 1 }),
    /** Path (relative to this file) of the ONVIF credentials file; the registry itself never holds credentials. */
    onvifCredentials: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  },
  { additionalProperties: false },
);

export type Registry = Static<typeof Registry>;
export type RegistrySchool = Static<typeof RegistrySchool>;
export type RegistryDevice = Static<typeof RegistryDevice>;
export type RegistryGate = Static<typeof RegistryGate>;
