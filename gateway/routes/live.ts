import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../auth/guard.js';

/** GET /live: the WebSocket feed (contract §4). The token comes as `?token=` since browsers cannot set headers on a WebSocket. */
export const liveRoutes: FastifyPluginAsync = async (app) => {
  app.get('/live', { websocket: true, preValidation: requireRole(app, 'viewer', true) }, (socket) => {
    app.gw.hub.attach(socket);
  });
};
