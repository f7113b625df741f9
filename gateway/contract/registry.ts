/** The school/device registry (config/county.json): its schema and types. Validated at start. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, lit } from './common.js';
import { CAMERA_ZONES, DEVICE_KINDS } from './mqtt.js';


export const SCHOOL_TYPES = ['kindergarten', 'primary', 'middle', 'high', 'nine_year', 'vocational', 'special'] as const;

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
