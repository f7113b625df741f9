/** County → city (issue #14, decision 0010): the city gateway's API shapes. */
import { Type } from '@sinclair/typebox';
import { TARGET_IDS } from './policy.js';

const OPEN = { additionalProperties: true } as const;

const Rate = Type.Object(
  {
    met: Type.Integer({ description: 'in-scope schools meeting the target' }),
    known: Type.Integer({ description: 'in-scope schools whose status the city has received' }),
    rate: Type.Union([Type.Number(), Type.Null()], { description: 'met / known; null until a status arrived' }),
  },
  OPEN,
);
export const CityRates = Type.Object(Object.fromEntries(TARGET_IDS.map((t) => [t, Rate])), { ...OPEN, description: 'the six target rates (contract §7 targets)' });
export const CityAlarm = Type.Object(
  { id: Type.String(), school: Type.String(), device: Type.Optional(Type.String()), sourceId: Type.Optional(Type.String()), state: Type.String(), kind: Type.Optional(Type.String()), raisedAt: Type.Optional(Type.String()) },
  OPEN,
);
const Canteen = Type.Object({ openCases: Type.Integer(), overdueCases: Type.Integer() }, { ...OPEN, description: 'canteen cases not closed, and those past their deadline' });

export const CityCountySummary = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    schools: Type.Integer({ description: 'schools in the county registry' }),
    frames: Type.Integer({ description: 'feed frames stored from this county (each (county, seq) once)' }),
    lastSeq: Type.Integer({ description: "the county's feed seq of the newest frame received (0: none)" }),
    lastAt: Type.Union([Type.String(), Type.Null()], { description: 'when that frame was committed at the county' }),
    rates: CityRates,
    alarms: Type.Object({ open: Type.Integer({ description: 'open alarms (test presses not counted)' }), list: Type.Array(CityAlarm, { description: 'the newest 50 open alarms, oldest first' }) }, OPEN),
    canteen: Canteen,
  },
  OPEN,
);
export const CityCountiesReply = Type.Object({ counties: Type.Array(CityCountySummary) }, OPEN);
export const CityCountyParams = Type.Object({ county: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }) }, { additionalProperties: false });
export const CitySchoolsReply = Type.Object(
  {
    county: Type.String(),
    schools: Type.Array(
      Type.Object({ id: Type.String(), name: Type.String(), openAlarms: Type.Integer(), rates: CityRates, canteen: Canteen }, OPEN),
    ),
  },
  OPEN,
);
