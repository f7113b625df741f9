import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { requireRole } from '../../auth/guard.js';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, INTERNAL, described, errorReply } from '../../contract/api.js';
import { lit } from '../../contract/common.js';
import { toCsv } from '../../contract/csv.js';
import { DEVICE_KINDS } from '../../contract/mqtt.js';
import { HttpError } from '../../errors.js';
import type { IdentityModule } from './index.js';

const Credential = Type.Object(
  { username: Type.String(), password: Type.String({ description: 'shown once; only its hash is stored' }), clientId: Type.String() },
  { additionalProperties: true },
);

/** CSV of credentials (device, school, kind, username, password, clientId), for bulk provisioning. */
export function credentialsCsv(rows: { device: string; school: string; kind: string; username: string; password: string; clientId: string }[]): string {
  return toCsv(['device', 'school', 'kind', 'username', 'password', 'clientId'], rows.map((r) => [r.device, r.school, r.kind, r.username, r.password, r.clientId]));
}

export const credentialRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const identity = app.gw.module<IdentityModule>('identity');
  const { registry } = app.gw;
  const admin = requireRole(app, 'admin');

  app.post(
    '/api/devices/:id/credentials',
    {
      onRequest: admin,
      config: { audit: { action: 'device.credentials', target: (req) => (req.params as { id?: string }).id } },
      schema: {
        tags: ['devices'],
        summary: "Makes a device's MQTT secret, ending the old one and closing its connection (admin); the secret is shown once",
        security: BEARER,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 201: described(Credential, 'the new credentials'), 404: errorReply('no such device'), ...AUTH_ERRORS, ...INTERNAL },
      },
    },
    async (req, reply) => {
      if (!registry.devices.has(req.params.id)) throw new HttpError(404, 'not_found', `no device "${req.params.id}" in the registry`);
      const [c] = await identity.provision([req.params.id], req.principal!.user);
      req.log.info({ device: req.params.id, by: req.principal!.user }, 'device credentials made');
      return reply.code(201).send(c);
    },
  );

  app.post(
    '/api/devices/credentials',
    {
      onRequest: admin,
      config: { audit: { action: 'device.credentials.bulk', detail: (req) => ({ ...(req.body as object) }) } },
      schema: {
        tags: ['devices'],
        summary: 'Makes new MQTT secrets for many devices at once (a school, a kind, or all), as JSON or CSV (admin); shown once',
        security: BEARER,
        body: Type.Object(
          { school: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })), kind: Type.Optional(lit(DEVICE_KINDS)), onlyMissing: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        querystring: Type.Object({ format: Type.Optional(lit(['json', 'csv'] as const)) }, { additionalProperties: false }),
        response: {
          201: described(Type.Object({ credentials: Type.Array(Type.Intersect([Credential, Type.Object({ device: Type.String(), school: Type.String(), kind: Type.String() })])) }, { additionalProperties: true }), 'the new credentials (JSON, or CSV with format=csv)'),
          ...BAD_REQUEST,
          404: errorReply('no such school'),
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req, reply) => {
      const { school, kind, onlyMissing } = req.body;
      if (school && !registry.schools.has(school)) throw new HttpError(404, 'not_found', `no school "${school}" in the registry`);
      const devices = [...registry.devices.values()].filter((d) => (!school || d.school === school) && (!kind || d.kind === kind) && (!onlyMissing || !identity.has(d.id)));
      const made = await identity.provision(devices.map((d) => d.id), req.principal!.user);
      const rows = made.map((c, i) => ({ device: devices[i].id, school: devices[i].school, kind: devices[i].kind, ...c }));
      req.auditDetail = { devices: rows.length };
      req.log.info({ devices: rows.length, school, kind, by: req.principal!.user }, 'device credentials made');
      if (req.query.format === 'csv') return reply.code(201).header('content-type', 'text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="device-credentials.csv"').send(credentialsCsv(rows) as never);
      return reply.code(201).send({ credentials: rows });
    },
  );

  // For `npm run broker-config` (contract §6): an external broker's own files are written from these.
  // Hashes only; the secrets themselves were shown once and are gone.
  app.get(
    '/api/devices/credentials/hashes',
    {
      onRequest: admin,
      // Hashes are not secrets, but who took them is worth knowing.
      config: { audit: { action: 'device.credentials.export' } },
      schema: {
        tags: ['devices'],
        summary: "Every provisioned device's secret hashes, to write an external broker's password and ACL files (admin)",
        security: BEARER,
        response: {
          200: described(
            Type.Object(
              {
                devices: Type.Array(
                  Type.Object(
                    {
                      device: Type.String(),
                      school: Type.String(),
                      kind: Type.String(),
                      sha256: Type.String({ description: 'hex SHA-256 of the secret (EMQX: sha256, salt disabled)' }),
                      brokerHash: Type.Union([Type.String(), Type.Null()], { description: "Mosquitto `$7$` hash; null: made before the gateway kept one, provision again" }),
                    },
                    { additionalProperties: true },
                  ),
                ),
                missing: Type.Array(Type.String(), { description: 'devices of the registry with no secret yet (npm run devices -- credentials --only-missing)' }),
              },
              { additionalProperties: true },
            ),
            'one entry per device of the registry that has a secret',
          ),
          ...AUTH_ERRORS,
          ...INTERNAL,
        },
      },
    },
    async (req) => {
      const devices = (await identity.hashes()).flatMap((h) => {
        const d = registry.devices.get(h.device);
        // A device since removed from the registry gets no broker login.
        return d ? [{ device: h.device, school: d.school, kind: d.kind, sha256: h.sha256, brokerHash: h.brokerHash }] : [];
      });
      const have = new Set(devices.map((d) => d.device));
      const missing = [...registry.devices.keys()].filter((id) => !have.has(id));
      req.log.info({ devices: devices.length, by: req.principal!.user }, 'device credential hashes read');
      return { devices, missing };
    },
  );
};
