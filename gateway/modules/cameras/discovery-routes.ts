import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { AUTH_ERRORS, BAD_REQUEST, BEARER, DiscoveryReply, INTERNAL, described } from '../../contract/api.js';
import { requireRole } from '../../auth/guard.js';
import { HttpError } from '../../errors.js';
import { discover } from '../../ingest/onvif/index.js';

interface DiscoveryResult {
  at: string;
  cameras: { xaddrs: string[]; scopes: string[]; urn?: string; registered: string | null }[];
  unregistered: number;
}

/**
 * WS-Discovery of ONVIF devices on the network, on demand and on a schedule: what the registry
 * does not know is listed for maintenance to register.
 */
export const onvifRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { registry, config } = app.gw;
  let last: DiscoveryResult | null = null;

  const byUrl = new Map<string, string>();
  for (const d of registry.devices.values()) if (d.onvif) byUrl.set(normal(d.onvif), d.id);

  async function run(timeoutMs: number): Promise<DiscoveryResult> {
    const found = await discover({ timeoutMs, unicastTargets: config.onvif.discoveryUnicast, multicast: config.onvif.discoveryMulticast });
    const cameras = found.map((f) => ({ xaddrs: f.xaddrs, scopes: f.scopes, urn: f.urn, registered: f.xaddrs.map((x) => byUrl.get(normal(x))).find(Boolean) ?? null }));
    last = { at: new Date().toISOString(), cameras, unregistered: cameras.filter((c) => !c.registered).length };
    return last;
  }

  app.get(
    '/api/onvif/discover',
    {
      onRequest: requireRole(app, 'maintenance'),
      schema: {
        tags: ['onvif'],
        summary: 'ONVIF cameras found by WS-Discovery, and which of them the registry knows (maintenance+)',
        security: BEARER,
        response: { 200: described(DiscoveryReply, 'the last discovery, or a fresh one with refresh=true'), ...BAD_REQUEST, ...AUTH_ERRORS, ...INTERNAL },
        querystring: Type.Object({ refresh: Type.Optional(Type.Boolean()), timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 30_000 })) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      // What the network holds is the county's business: a school's own user gets none of it.
      if (req.principal!.school !== undefined) throw new HttpError(403, 'other_school', 'ONVIF discovery scans the county network: county users only');
      return req.query.refresh || !last ? run(req.query.timeoutMs ?? 3000) : last;
    },
  );

  if (config.onvif.discoveryIntervalSec > 0) {
    const timer = setInterval(() => run(3000).catch((err) => app.log.warn({ err: (err as Error).message }, 'scheduled ONVIF discovery failed')), config.onvif.discoveryIntervalSec * 1000);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));
  }
};

/** Compares device-service URLs without credentials, trailing slashes or case of the host. */
function normal(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}
