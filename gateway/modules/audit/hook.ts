/**
 * Audited routes say so where they are declared (`config: { audit: { action: 'alarm.ack', … } }`)
 * and this one hook writes the entry: who (the token's user, or the name tried at a login), from
 * where, what, on what, and the answer given. It runs before the answer leaves, so an operator who
 * has seen "done" has also been recorded. Anonymous requests to a route other than the login are
 * not recorded: they changed nothing, and would let anyone fill the trail.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuditModule } from './index.js';

export interface AuditSpec {
  action: string;
  /** The acting user when it is not the token's (the login: the name tried). */
  actor?: (req: FastifyRequest) => string | undefined;
  target?: (req: FastifyRequest) => string | undefined;
  /** What else to keep: never a secret. */
  detail?: (req: FastifyRequest, reply: FastifyReply) => Record<string, unknown> | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditSpec;
  }
  interface FastifyRequest {
    /** What the handler learned that the entry should keep (how many devices it provisioned…). */
    auditDetail?: Record<string, unknown>;
  }
}

export function auditOnSend(audit: AuditModule) {
  return async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const spec = req.routeOptions.config.audit;
    if (!spec) return payload;
    const user = spec.actor?.(req) ?? req.principal?.user;
    if (user === undefined) return payload;
    const status = reply.statusCode;
    const detail: Record<string, unknown> = { ...spec.detail?.(req, reply), ...req.auditDetail };
    // A refusal's code (`bad_credentials`, `too_many_attempts`, `illegal_transition`…) says why.
    if (status >= 400 && typeof payload === 'string' && payload.length < 4096) {
      try {
        const error = (JSON.parse(payload) as { error?: unknown }).error;
        if (typeof error === 'string') detail.error = error;
      } catch {
        // not JSON: the status says enough
      }
    }
    try {
      await audit.record({ user, from: req.ip, action: spec.action, target: spec.target?.(req), status, detail });
    } catch (err) {
      // The action itself stands (or failed) either way; a trail that cannot be written is a store fault /health shows.
      req.log.error({ err, action: spec.action, user }, 'audit entry not written');
    }
    return payload;
  };
}
