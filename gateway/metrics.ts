/** Prometheus metrics (GET /metrics). One registry per app, so tests can build several apps. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'campus_gateway_' });
  const m = {
    registry,
    messagesAccepted: new Counter({ name: 'campus_gateway_messages_accepted_total', help: 'Device messages accepted, by type', labelNames: ['type'], registers: [registry] }),
    messagesRejected: new Counter({ name: 'campus_gateway_messages_rejected_total', help: 'Device messages refused (see _gateway/rejected), by type', labelNames: ['type'], registers: [registry] }),
    duplicates: new Counter({ name: 'campus_gateway_duplicates_total', help: 'Redelivered alarms/analytics events recognised by (device, id)', labelNames: ['type'], registers: [registry] }),
    alarmsRaised: new Counter({ name: 'campus_gateway_alarms_raised_total', help: 'One-key alarms raised', labelNames: ['kind', 'test'], registers: [registry] }),
    alarmsOpen: new Gauge({ name: 'campus_gateway_alarms_open', help: 'Alarms not yet resolved (real ones)', registers: [registry] }),
    alarmsEscalated: new Counter({ name: 'campus_gateway_alarms_escalated_total', help: 'Alarms not acknowledged in time', registers: [registry] }),
    commitSeconds: new Histogram({ name: 'campus_gateway_ledger_commit_seconds', help: 'Ledger transaction time per batch', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers: [registry] }),
    commitFailures: new Counter({ name: 'campus_gateway_ledger_commit_failures_total', help: 'Ledger transactions that failed (messages were not acknowledged)', registers: [registry] }),
    feedSeq: new Gauge({ name: 'campus_gateway_feed_seq', help: 'Last live-feed sequence number', registers: [registry] }),
    wsClients: new Gauge({ name: 'campus_gateway_ws_clients', help: 'Connected wall screens and tools', registers: [registry] }),
    wsResyncs: new Counter({ name: 'campus_gateway_ws_resyncs_total', help: 'Slow WebSocket clients cut off with resync', registers: [registry] }),
    devicesOnline: new Gauge({ name: 'campus_gateway_devices_online', help: 'Devices online', labelNames: ['kind'], registers: [registry] }),
    exportPoints: new Counter({ name: 'campus_gateway_export_points_total', help: 'Points confirmed by the time-series database', registers: [registry] }),
    exportFailures: new Counter({ name: 'campus_gateway_export_failures_total', help: 'Export attempts that failed (retried)', registers: [registry] }),
    exportQuarantined: new Counter({ name: 'campus_gateway_export_quarantined_total', help: 'Points the database refused, moved aside', registers: [registry] }),
    exportBacklog: new Gauge({ name: 'campus_gateway_export_backlog_points', help: 'Points waiting in the outbox', registers: [registry] }),
    exportLagSeconds: new Gauge({ name: 'campus_gateway_export_lag_seconds', help: 'Age of the oldest point not yet in the database', registers: [registry] }),
    ledgerBytes: new Gauge({ name: 'campus_gateway_ledger_bytes', help: 'Ledger size on disk (database and WAL)', registers: [registry] }),
    deviceTransitions: new Counter({ name: 'campus_gateway_device_transitions_total', help: 'Devices going offline or coming back, by reason', labelNames: ['online', 'reason'], registers: [registry] }),
    maintenanceOpen: new Gauge({ name: 'campus_gateway_maintenance_alarms_open', help: 'Open maintenance alarms (offline alarm buttons and cameras)', registers: [registry] }),
    cityUplinkFrames: new Counter({ name: 'campus_gateway_city_uplink_frames_total', help: 'Feed frames the city broker acknowledged (decision 0010)', registers: [registry] }),
    cityUplinkFailures: new Counter({ name: 'campus_gateway_city_uplink_failures_total', help: 'City uplink batches not acknowledged (sent again)', registers: [registry] }),
    cityUplinkBacklog: new Gauge({ name: 'campus_gateway_city_uplink_backlog_frames', help: 'Feed frames waiting in the city outbox', registers: [registry] }),
    cityUplinkLagSeconds: new Gauge({ name: 'campus_gateway_city_uplink_lag_seconds', help: 'Age of the oldest frame the city has not acknowledged', registers: [registry] }),
    cityUplinkLastSeq: new Gauge({ name: 'campus_gateway_city_uplink_last_seq', help: 'County feed seq of the last frame the city acknowledged', registers: [registry] }),
    cityUplinkConnected: new Gauge({ name: 'campus_gateway_city_uplink_connected', help: '1 while connected to the city broker', registers: [registry] }),
    cityFramesRefused: new Counter({ name: 'campus_gateway_city_frames_refused_total', help: 'Forwarded county frames the city refused, by reason', labelNames: ['reason'], registers: [registry] }),
    cityIngestConnected: new Gauge({ name: 'campus_gateway_city_ingest_connected', help: "1 while the city is connected to the counties' broker", registers: [registry] }),
    onvifCamerasWatched: new Gauge({ name: 'campus_gateway_onvif_cameras_watched', help: "ONVIF cameras this gateway probes (its share among a region's gateways)", registers: [registry] }),
    mqttConnected: new Gauge({ name: 'campus_gateway_mqtt_connected', help: '1 when the gateway can take MQTT messages', registers: [registry] }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
