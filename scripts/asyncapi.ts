/**
 * Writes docs/asyncapi.yaml: the MQTT side of the contract (§1–2) as AsyncAPI 3.0, generated from
 * the TypeBox schemas and the topic table in gateway/contract/mqtt.ts, so it cannot drift from
 * what the gateway validates (test/asyncapi.test.ts fails when the committed file differs).
 *
 *   npm run asyncapi             write docs/asyncapi.yaml
 *   npm run asyncapi -- --check  exit 1 when docs/asyncapi.yaml is not what this script writes
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import YAML from 'yaml';
import { REPO_ROOT } from '../gateway/config.js';
import { CaseNotification } from '../gateway/contract/canteen.js';
import { AlarmFeedback, DEVICE_TOPICS, DEVICE_KINDS, MAX_PAYLOAD_BYTES, Rejection, topics, type DeviceTopic } from '../gateway/contract/mqtt.js';

export const ASYNCAPI_PATH = path.join(REPO_ROOT, 'docs', 'asyncapi.yaml');
const PREFIX = 'campus/v1';

/** What each device topic means (contract §1); a Record so a new topic cannot go undescribed. */
const MEANING: Record<DeviceTopic, { title: string; description: string }> = {
  alarm: {
    title: 'One-key alarm press (一键报警)',
    description:
      '`id` is unique per device: a redelivery with the same (device, id) is the same alarm, never a second one. ' +
      'A valid `ts` far from the gateway clock is accepted and flagged (an alarm is never refused for a wrong clock). ' +
      'Once the alarm is durably stored the gateway answers `received` on the alarm/state channel.',
  },
  uplink: {
    title: "NVR's link to a platform (视频联网)",
    description:
      "From a school's `nvr`: whether its uplink to the police (公安) or county video platform is up. The `video_networked` target needs a `police` report with `up: true` within the last 10 min (policy).",
  },
  heartbeat: { title: 'Device is alive', description: 'Sent on the interval the registry gives the device; a device silent for several intervals is offline.' },
  availability: {
    title: 'Connection state',
    description: 'Plain text, exactly `online` or `offline`, retained; `offline` is the device\'s MQTT last will.',
  },
  camera: {
    title: 'Camera status',
    description:
      'A camera\'s status as an edge NVR or the gateway\'s own ONVIF watcher sees it. `"online": false` is the verdict that the camera is down: it is offline at once.',
  },
  ai: { title: 'Canteen analytics event (明厨亮灶)', description: 'An analytics event from a canteen camera.' },
  gate: { title: 'School gate state', description: 'A school gate controller (closed campus management).' },
  checkin: { title: 'On-duty check-in', description: 'Someone reported on duty at a post.' },
  record: {
    title: 'Canteen record (留样, 晨检, 陪餐, 消毒)',
    description:
      'From a `canteen_terminal`: the body of `POST /api/canteen/records` (no `ts`: the record\'s time is `takenAt` for a sample, else `at`). ' +
      '`school` must be the topic\'s school and `id` is required: a redelivery with the same (device, id) is stored once. ' +
      'Refused on `_gateway/rejected` with the same reasons as the HTTP route (`negative_weight`, `zero_weight`, `kept_before_taken`, `unknown_meal`, `bad_time`, an unknown canteen).',
  },
};

/** A TypeBox schema as plain JSON Schema (TypeBox's symbol keys dropped). */
const json = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema));
const ref = (to: string) => ({ $ref: to });
const mqttOp = (qos: 0 | 1, retain: boolean) => ({ mqtt: { qos, retain, bindingVersion: '0.2.0' } });

const PARAMETERS = {
  schoolId: { description: 'The school id (`^[A-Za-z0-9_-]{1,64}$`); the registry must place the device in this school.' },
  deviceId: { description: 'The device id (`^[A-Za-z0-9_-]{1,64}$`) as the registry names it (a camera is a device too).' },
};
const DEVICE_PARAMS = { schoolId: ref('#/components/parameters/schoolId'), deviceId: ref('#/components/parameters/deviceId') };

export function asyncapiDocument(): Record<string, unknown> {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
  const t = topics(PREFIX);
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};

  for (const [type, spec] of Object.entries(DEVICE_TOPICS) as [DeviceTopic, (typeof DEVICE_TOPICS)[DeviceTopic]][]) {
    const meaning = MEANING[type];
    const kinds = [...spec.kinds];
    messages[type] = {
      name: type,
      title: meaning.title,
      contentType: spec.schema ? 'application/json' : 'text/plain',
      payload: spec.schema ? json(spec.schema) : { type: 'string', enum: ['online', 'offline'] },
    };
    channels[type] = {
      address: t.device('{schoolId}', '{deviceId}', type),
      title: meaning.title,
      parameters: DEVICE_PARAMS,
      messages: { [type]: ref(`#/components/messages/${type}`) },
    };
    operations[`receive_${type}`] = {
      action: 'receive',
      channel: ref(`#/channels/${type}`),
      summary: `${meaning.title}: published by ${kinds.join(', ')}`,
      description: `${meaning.description}\n\nMay be published only by devices of kind: ${kinds.map((k) => `\`${k}\``).join(', ')}.`,
      'x-device-kinds': kinds,
      bindings: mqttOp(1, type === 'availability'),
      messages: [ref(`#/channels/${type}/messages/${type}`)],
    };
  }

  messages.alarmState = { name: 'alarmState', title: 'Alarm feedback', contentType: 'application/json', payload: json(AlarmFeedback) };
  channels.alarmState = {
    address: t.alarmState('{schoolId}', '{deviceId}'),
    title: 'Alarm feedback to the button that pressed',
    description: 'So its lamp can show that help is coming. `received` is sent once the alarm is durably stored; then each operator action.',
    parameters: DEVICE_PARAMS,
    messages: { alarmState: ref('#/components/messages/alarmState') },
  };
  operations.send_alarmState = {
    action: 'send',
    channel: ref('#/channels/alarmState'),
    summary: 'Tell the button what became of its alarm',
    bindings: mqttOp(1, false),
    messages: [ref('#/channels/alarmState/messages/alarmState')],
  };

  messages.gatewayStatus = { name: 'gatewayStatus', title: 'Gateway status', contentType: 'text/plain', payload: { type: 'string', enum: ['online', 'offline'] } };
  channels.gatewayStatus = {
    address: t.status,
    title: 'Whether the gateway is up',
    description: 'Retained; `offline` is the gateway\'s last will.',
    messages: { gatewayStatus: ref('#/components/messages/gatewayStatus') },
  };
  operations.send_gatewayStatus = {
    action: 'send',
    channel: ref('#/channels/gatewayStatus'),
    summary: 'Announce the gateway online (and offline, by its last will)',
    bindings: mqttOp(1, true),
    messages: [ref('#/channels/gatewayStatus/messages/gatewayStatus')],
  };

  messages.caseNotification = { name: 'caseNotification', title: 'A canteen case changed', contentType: 'application/json', payload: json(CaseNotification) };
  channels.canteenCase = {
    address: t.canteenCase('{schoolId}'),
    title: 'Canteen case notifications of one school (明厨亮灶 整改)',
    description:
      'Each change of a school\'s rectification case: opened, every step, the overdue escalation. Sent once the change is durable. Only the gateway publishes here; a `canteen_terminal` may subscribe to its own school\'s topic only. The same body goes to the webhook (`CANTEEN_WEBHOOK_URL`, docs/canteen-notify.md); `deliveryId` is the dedupe key.',
    parameters: { schoolId: ref('#/components/parameters/schoolId') },
    messages: { caseNotification: ref('#/components/messages/caseNotification') },
  };
  operations.send_caseNotification = {
    action: 'send',
    channel: ref('#/channels/canteenCase'),
    summary: "Tell a school's canteen terminals of a change of one of its cases",
    bindings: mqttOp(1, false),
    messages: [ref('#/channels/canteenCase/messages/caseNotification')],
  };

  messages.rejection = { name: 'rejection', title: 'A refused message', contentType: 'application/json', payload: json(Rejection) };
  channels.gatewayRejected = {
    address: t.rejected,
    title: 'Every refused message, and why',
    description: 'What was wrong, in words a device integrator understands.',
    messages: { rejection: ref('#/components/messages/rejection') },
  };
  operations.send_rejection = {
    action: 'send',
    channel: ref('#/channels/gatewayRejected'),
    summary: 'Refuse a message on a device topic',
    bindings: mqttOp(0, false),
    messages: [ref('#/channels/gatewayRejected/messages/rejection')],
  };

  return {
    asyncapi: '3.0.0',
    info: {
      title: `${pkg.name} MQTT`,
      version: pkg.version,
      description: [
        'The MQTT side of the campus gateway (contract §1–2). Topics are shown with the default prefix',
        `\`${PREFIX}\` (\`MQTT_TOPIC_PREFIX\`). Devices publish with QoS 1.`,
        '',
        'A message is accepted only if its topic parses, the device exists in the registry, the registry places it in',
        'school `{schoolId}`, its kind allows the topic (a camera cannot raise a one-key alarm) and the payload validates.',
        `Payloads over ${MAX_PAYLOAD_BYTES / 1024} KiB are refused. Every message under the prefix that is not the gateway's own`,
        'output is accepted or refused on `_gateway/rejected`.',
        '',
        'Times (`ts`) are ISO-8601 with an offset (`2026-03-01T07:45:12.345+08:00`) or epoch milliseconds; the gateway',
        `emits ISO-8601 UTC. Device kinds: ${DEVICE_KINDS.map((k) => `\`${k}\``).join(', ')}.`,
        '',
        'The HTTP API is described by `GET /openapi.json`.',
      ].join('\n'),
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: {
        host: 'localhost:1883',
        protocol: 'mqtt',
        description: 'The embedded broker (`MQTT_PORT`, default 1883), or the external broker named by `MQTT_URL`.',
      },
    },
    channels,
    operations,
    components: { parameters: PARAMETERS, messages },
  };
}

export function renderAsyncapi(): string {
  const header = '# Generated by `npm run asyncapi` (scripts/asyncapi.ts) from gateway/contract/mqtt.ts. Do not edit.\n';
  return header + YAML.stringify(asyncapiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const text = renderAsyncapi();
  const rel = path.relative(process.cwd(), ASYNCAPI_PATH);
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(ASYNCAPI_PATH) ? fs.readFileSync(ASYNCAPI_PATH, 'utf8') : '';
    if (current !== text) {
      console.error(`${rel} is out of date: run npm run asyncapi`);
      process.exit(1);
    }
    console.log(`${rel} is up to date`);
  } else {
    fs.writeFileSync(ASYNCAPI_PATH, text);
    console.log(`wrote ${rel}`);
  }
}
