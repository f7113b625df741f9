/**
 * One gateway of a region for the replica tests (issue #14): on the region's PostgreSQL database and
 * broker, in the shared subscription `group`, with its own persistent session (client id).
 */
import pg from 'pg';
import { login, startGateway, type GatewayProc } from './gateway.js';

export interface Replica {
  gw: GatewayProc;
  token: string;
  clientId: string;
}

/** Gateways on PostgreSQL migrate and open their tables over the network: room to start on a busy machine. */
const START_TIMEOUT_MS = 90_000;

export async function startReplica(o: { brokerUrl: string; storeUrl: string; group: string; name: string; env?: Record<string, string> }): Promise<Replica> {
  const clientId = `gw-${o.group}-${o.name}-${Date.now()}`;
  const gw = await startGateway({
    startTimeoutMs: START_TIMEOUT_MS,
    mqttUrl: o.brokerUrl,
    // Escalation stays out of the way unless a test asks for it (ACK_TIMEOUT_SEC in `env`).
    env: { STORE_URL: o.storeUrl, MQTT_SHARED_GROUP: o.group, MQTT_CLIENT_ID: clientId, ACK_TIMEOUT_SEC: '3600', ...o.env },
  });
  return { gw, token: await login(gw.url, 'admin', gw.adminPassword), clientId };
}

/** Offline transitions stored for these devices (every gateway's), oldest first. */
export async function offlineRows(url: string, ids: readonly string[]): Promise<{ device: string; reason: string }[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ device: string; reason: string }>('SELECT device, reason FROM device_transitions WHERE online = 0 AND device = ANY($1) ORDER BY at', [ids])).rows;
  } finally {
    await c.end();
  }
}
