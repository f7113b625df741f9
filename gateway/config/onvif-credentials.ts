/**
 * The ONVIF credentials file a registry may name in `onvifCredentials` (kept out of the registry
 * so the registry can be shared without passwords):
 * `{"default": {"username", "password"}, "cameras": {"<device id>": {"username", "password"}}}`.
 */
import { Type, type Static } from '@sinclair/typebox';

const Login = Type.Object(
  {
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    password: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false, minProperties: 1, description: '{"username": "…", "password": "…"}' },
);

export const OnvifCredentialsFile = Type.Object(
  {
    /** For every camera not listed under `cameras`. */
    default: Type.Optional(Login),
    cameras: Type.Optional(Type.Record(Type.String(), Login, { description: '{"<device id>": {"username": "…", "password": "…"}}' })),
  },
  { additionalProperties: false, description: '{"default": {…}, "cameras": {"<device id>": {…}}}' },
);

export type OnvifCredentialsFile = Static<typeof OnvifCredentialsFile>;
