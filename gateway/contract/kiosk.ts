/** HTTP shapes of the kiosk routes (wall screens' view-only credentials; contract-additions "Kiosks"). */
import { Type } from '@sinclair/typebox';
import { ID_PATTERN } from './common.js';
import { Role } from './api.js';

const OPEN = { additionalProperties: true } as const;

export const KioskIssueBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'the screen, as people call it ("指挥中心大屏 1")' }),
    school: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'the school the screen shows (contract §7 scope); absent: the whole county' })),
  },
  { additionalProperties: false },
);

export const KioskView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    school: Type.Optional(Type.String()),
    createdAt: Type.String(),
    createdBy: Type.String(),
    state: Type.Union([Type.Literal('awaiting_setup'), Type.Literal('setup_expired'), Type.Literal('active'), Type.Literal('revoked')]),
    setupExpiresAt: Type.Optional(Type.String()),
    boundAt: Type.Optional(Type.String({ description: 'when the setup link was used' })),
    boundFrom: Type.Optional(Type.String({ description: 'the address it was used from' })),
    boundAgent: Type.Optional(Type.String({ description: "the browser's User-Agent at setup" })),
    lastSeenAt: Type.Optional(Type.String()),
    lastSeenFrom: Type.Optional(Type.String()),
    revokedAt: Type.Optional(Type.String()),
    revokedBy: Type.Optional(Type.String()),
  },
  OPEN,
);

export const KioskIssued = Type.Object(
  {
    ...KioskView.properties,
    setupCode: Type.String({ description: 'one-time, shown only here; stored only as its SHA-256' }),
    url: Type.String({ description: 'the setup link: the code in the fragment (#kiosk-setup=…), which browsers never send to a server' }),
  },
  { ...OPEN, description: 'the kiosk and its one-time setup code (valid 24 h)' },
);

export const KiosksReply = Type.Object({ kiosks: Type.Array(KioskView) }, OPEN);
export const KioskParams = Type.Object({ id: Type.String({ pattern: '^k[0-9a-f]{12}$' }) }, { additionalProperties: false });
export const KioskRevoked = Type.Object({ ...KioskView.properties }, { ...OPEN, description: 'revoked: its sessions answer 401 `kiosk_revoked`, its live sockets were closed with 4003' });

export const KioskSetupBody = Type.Object({ setupCode: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export const KioskSecretBody = Type.Object({ secret: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });

export const KioskSession = Type.Object(
  {
    token: Type.String({ description: 'a session token (Bearer, and `?token=` for /live); renew it with the device secret before `expiresAt`' }),
    role: Role,
    user: Type.String({ description: '`kiosk:<id>`' }),
    expiresAt: Type.String(),
    kiosk: Type.Object({ id: Type.String(), name: Type.String(), school: Type.Optional(Type.String()) }, OPEN),
  },
  OPEN,
);

export const KioskSetupReply = Type.Object(
  { ...KioskSession.properties, secret: Type.String({ description: 'the device secret: kept by this browser only, shown nowhere else, stored only as its SHA-256' }) },
  { ...OPEN, description: 'bound: the device secret and a first session' },
);
