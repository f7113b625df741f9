/** The school/device registry (config/county.json): its schema and types. Validated at start. */
import { Type, type Static } from '@sinclair/typebox';
import { Id, lit } from './common.js';
import { CAMERA_ZONES, CANTEEN_AREAS, DEVICE_KINDS } from './mqtt.js';


export const SCHOOL_TYPES = ['kindergarten', 'primary', 'middle', 'high', 'nine_year', 'vocational', 'special'] as const;
/** Contract §7: city, town or countryside; the policy puts targets in scope by it (护学岗: city and town). */
export const SCHOOL_AREAS = ['urban', 'town', 'rural'] as const;
/**
 * What a camera looks at, for the `video_networked` rule's required places (contract §7, GB/T 29315):
 * the gate from inside and outside, the gatehouse (门卫室), the canteen kitchen and entrances,
 * gathering places, corridors, dormitory entrances, kindergarten rooms.
 */
export const CAMERA_PLACES = ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen', 'canteen_entrance', 'gathering', 'corridor', 'dormitory_entrance', 'kindergarten_room', 'perimeter', 'other'] as const;
/**
 * The wall screen's county map is schematic (no map tiles: command centers sit on closed networks):
 * positions on a 0–100 grid, x to the east, y to the south. Two schools' own `map` positions must be
 * at least this far apart, so their markers never overlap.
 */
export const MAP_MIN_SCHOOL_GAP = 2.5;
export const MapPoint = Type.Object(
  {
    x: Type.Number({ minimum: 0, maximum: 100 }),
    y: Type.Number({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);
/** A township (乡镇) on the county map: its name is the `region` its schools give. */
export const RegistryTownship = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    nameEn: Type.Optional(Type.String({ maxLength: 128 })),
    x: Type.Number({ minimum: 0, maximum: 100 }),
    y: Type.Number({ minimum: 0, maximum: 100 }),
  },
  { additionalProperties: false },
);

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

/**
 * 统一社会信用代码 (GB 32100-2015): 18 characters from the 31 of `0-9A-Z` without I, O, Z, S, V;
 * characters 3–8 are the administrative division (digits). The check character (the 18th) is
 * verified by the registry loader (`domain/credit-code.ts`).
 */
export const CREDIT_CODE_PATTERN = '^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$';
/** A GB/T 28181 device id: 20 digits (centre code 8, industry 2, type 3, network 1, serial 6). */
export const GB28181_ID_PATTERN = '^[0-9]{20}$';

/** Contract §8: one canteen of a school (a school may have a students' and a staff canteen). */
export const RegistryCanteen = Type.Object(
  {
    /** Unique within the school (`main`, `c2`). */
    id: Id,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    nameEn: Type.Optional(Type.String({ maxLength: 128 })),
    /** The areas this canteen has (a kindergarten kitchen may have no separate 洗消 or 留样 room); no area twice. */
    areas: Type.Array(lit(CANTEEN_AREAS), { minItems: 1, maxItems: CANTEEN_AREAS.length }),
  },
  { additionalProperties: false },
);

/** Where a vendor's analytics platform finds a camera: the NVR's serial number and its channel (from 1). */
export const VendorRef = Type.Object(
  {
    nvrSerial: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.:-]+$' }),
    channel: Type.Integer({ minimum: 1, maximum: 1024 }),
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
    /** A canteen camera (zone dining, kitchen or storage): the id of its school's canteen (contract §8). */
    canteen: Type.Optional(Id),
    /** A canteen camera: the canteen area it watches, one of its canteen's `areas` (needs `canteen`). */
    area: Type.Optional(lit(CANTEEN_AREAS)),
    /** A camera: where a vendor's platform finds it (NVR serial + channel); unique across the county. */
    vendorRef: Type.Optional(VendorRef),
    /**
     * A camera: the URL of its still picture where ONVIF cannot give one (an NVR channel's, e.g.
     * `http://10.1.2.3/ISAPI/Streaming/channels/101/picture`); used instead of ONVIF GetSnapshotUri
     * for alarm-linked pictures. http(s), no credentials in it (they come from the ONVIF
     * credentials file, the camera's entry).
     */
    snapshotUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
    /**
     * An alarm button: the cameras that see it (报警联动), in order; each a camera of its school.
     * A press takes a picture from each (at most 4). Absent: chosen by place (docs/contract-additions.md).
     */
    linkedCameras: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 8 })),
    /** A camera: its GB/T 28181 id (20 digits); unique across the county. */
    gb28181Id: Type.Optional(Type.String({ pattern: GB28181_ID_PATTERN, description: 'GB/T 28181 id (20 digits)' })),
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
    /** 统一社会信用代码 (GB 32100-2015), how vendors' platforms name the school; unique across the county. */
    creditCode: Type.Optional(Type.String({ pattern: CREDIT_CODE_PATTERN, description: '统一社会信用代码 (18 characters of 0-9 and A-Z without I, O, Z, S, V)' })),
    /** Its canteens (contract §8). Absent: none registered. */
    canteens: Type.Optional(Type.Array(RegistryCanteen, { maxItems: 16 })),
    /** Administrative region (township), so a city or province gateway can group schools. */
    region: Type.String({ minLength: 1, maxLength: 64 }),
    address: Type.Optional(Type.String({ maxLength: 256 })),
    /** Its place on the wall screen's schematic county map. Absent: placed around its township's centre. */
    map: Type.Optional(MapPoint),
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
        /**
         * The townships' centres on the schematic county map (0–100 grid); when given, every school's
         * `region` is one of them. Absent: the wall screen lays the townships out itself.
         */
        townships: Type.Optional(Type.Array(RegistryTownship, { minItems: 1, maxItems: 200 })),
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
            /** Absent: 60 s. */
            canteen_terminal: Type.Optional(Type.Integer({ minimum: 1 })),
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
export type RegistryCanteen = Static<typeof RegistryCanteen>;
export type VendorRef = Static<typeof VendorRef>;
export type MapPoint = Static<typeof MapPoint>;
export type RegistryTownship = Static<typeof RegistryTownship>;
