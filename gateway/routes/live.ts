import type { FastifyPluginAsync } from 'fastify';
import { authenticate, type Session } from '../auth/guard.js';

/**
 * GET /live: the WebSocket feed (contract §4). The token comes as `?token=` since browsers cannot
 * set headers on a WebSocket. A user at its socket cap gets 429, a full gateway 503, both before
 * the upgrade (a socket that slips past at the same moment is closed with 4008).
 */
export const liveRoutes: FastifyPluginAsync = async (app) => {
  app.get(
    '/live',
    {
      websocket: true,
      preValidation: async (req, reply) => {
        const session = authenticate(app, req, 'viewer', true);
        const refused = app.gw.hub.refusal(session.user);
        if (!refused) return;
        req.log.warn({ user: session.user, reason: refused.reason }, 'live socket refused');
        const status = refused.reason === 'user' ? 429 : 503;
        return reply
          .code(status)
          .header('retry-after', '5')
          .send({ error: refused.reason === 'user' ? 'too_many_sockets' : 'live_full', message: refused.message });
      },
    },
    (socket, req) => {
      app.gw.hub.attach(socket, req.principal as Session);
    },
  );
};
