/**
 * The ingest adapter's pure half: a raw MQTT message (topic, bytes) becomes one validated
 * device input, or a refusal whose reason a device integrator can act on (contract §1).
 * Transport-free, so the embedded broker, an external broker and the tests share it.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { ID_RE, parseWireTime } from '../contract/common.js';
import { DEVICE_TOPICS, MAX_PAYLOAD_BYTES, type DeviceTopic, type PayloadOf } from '../contract/mqtt.js';
import type { IndexedDevice, RegistryIndex } from '../registry.js';

export type DeviceInput = {
  [K in DeviceTopic]: {
    topic: K;
    school: string;
    device: IndexedDevice;
    payload: PayloadOf[K];
    /** Device time in epoch ms (receive time for plain-text availability). */
    deviceTsMs: number;
    receivedAtMs: number;
  };
}[DeviceTopic];

export type ParseResult = { ok: true; input: DeviceInput } | { ok: false; reason: string };

const checkers = new Map<DeviceTopic, TypeCheck<TSchema>>();
for (const [name, spec] of Object.entries(DEVICE_TOPICS)) {
  if (spec.schema) checkers.set(name as DeviceTopic, TypeCompiler.Compile(spec.schema));
}

const fail = (reason: string): ParseResult => ({ ok: false, reason });

/** The members of a topic's schema that is a union told apart by a literal `kind`, compiled, by kind. */
const variants = new Map<DeviceTopic, Map<string, TypeCheck<TSchema>>>();
for (const [name, spec] of Object.entries(DEVICE_TOPICS)) {
  const members = (spec.schema as { anyOf?: TSchema[] } | null)?.anyOf;
  const byKind = new Map<string, TypeCheck<TSchema>>();
  for (const m of members ?? []) {
    const kind = (m as { properties?: { kind?: { const?: unknown } } }).properties?.kind?.const;
    if (typeof kind === 'string') byKind.set(kind, TypeCompiler.Compile(m));
  }
  if (byKind.size) variants.set(name as DeviceTopic, byKind);
}
const kindsOf = (topic: DeviceTopic) => [...(variants.get(topic)?.keys() ?? [])];
/** The checker of the variant the body's `kind` names; null when it names none; undefined when the topic is no such union. */
function variantOf(topic: DeviceTopic, body: Record<string, unknown>): TypeCheck<TSchema> | null | undefined {
  const byKind = variants.get(topic);
  if (!byKind) return undefined;
  return (typeof body.kind === 'string' && byKind.get(body.kind)) || null;
}

/** The levels below the prefix (a device topic has three: `{s}/{d}/{type}`), or `null` when the topic is not under the prefix at all. */
export function splitTopic(prefix: string, topic: string): string[] | null {
  if (!topic.startsWith(prefix + '/')) return null;
  return topic.slice(prefix.length + 1).split('/');
}

/** The gateway's own output under the prefix (contract §2): `_gateway/…` and every `…/alarm/state`. */
export function isGatewayOutput(levels: string[]): boolean {
  return levels[0] === '_gateway' || (levels.length === 4 && levels[2] === 'alarm' && levels[3] === 'state');
}

export function parseDeviceMessage(
  registry: RegistryIndex,
  prefix: string,
  topic: string,
  payload: Buffer,
  receivedAtMs: number,
): ParseResult {
  const levels = splitTopic(prefix, topic);
  if (!levels) return fail(`topic does not parse: expected ${prefix}/{schoolId}/{deviceId}/{type}`);
  if (levels.length !== 3)
    return fail(`topic does not parse: ${levels.length} level${levels.length === 1 ? '' : 's'} below ${prefix}, expected 3: ${prefix}/{schoolId}/{deviceId}/{type}`);
  const [schoolId, deviceId, type] = levels;
  if (!ID_RE.test(schoolId)) return fail(`topic does not parse: school id "${schoolId.slice(0, 80)}" must match [A-Za-z0-9_-]{1,64}`);
  if (!ID_RE.test(deviceId)) return fail(`topic does not parse: device id "${deviceId.slice(0, 80)}" must match [A-Za-z0-9_-]{1,64}`);
  if (!Object.hasOwn(DEVICE_TOPICS, type))
    return fail(`topic does not parse: unknown message type "${type.slice(0, 40)}" (expected one of ${Object.keys(DEVICE_TOPICS).join(', ')})`);
  const topicType = type as DeviceTopic;

  const device = registry.devices.get(deviceId);
  if (!device) return fail(`unknown device "${deviceId}": not in the registry`);
  if (device.school !== schoolId)
    return fail(`device "${deviceId}" belongs to school "${device.school}", not "${schoolId}"`);
  const allowed: readonly string[] = DEVICE_TOPICS[topicType].kinds;
  if (!allowed.includes(device.kind))
    return fail(`device "${deviceId}" is a ${device.kind}; a ${device.kind} cannot publish "${topicType}" (allowed for: ${allowed.join(', ')})`);

  if (payload.length > MAX_PAYLOAD_BYTES) return fail(`payload is ${payload.length} bytes, over the 16 KiB limit`);

  if (topicType === 'availability') {
    const text = payload.toString('utf8');
    if (text !== 'online' && text !== 'offline') return fail(`availability must be exactly "online" or "offline", got "${text.slice(0, 40)}"`);
    return { ok: true, input: { topic: topicType, school: schoolId, device, payload: text, deviceTsMs: receivedAtMs, receivedAtMs } };
  }

  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return fail(`payload is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail('payload must be a JSON object');

  const checker = checkers.get(topicType)!;
  if (!checker.Check(body)) {
    // A union by `kind` (a canteen record): the error of the variant the body names, not "expected union value".
    const variant = variantOf(topicType, body as Record<string, unknown>);
    if (variant === null) return fail(`field "kind" must be one of ${kindsOf(topicType).join(', ')}`);
    const e = (variant ?? checker).Errors(body).First()!;
    return fail(describeError(e.path, expectation(e.schema, e.message), body as Record<string, unknown>));
  }
  // A canteen record carries its own time (`takenAt`/`at`), checked with the record's rules by its module.
  const ts = topicType === 'record' ? { ok: true as const, ms: receivedAtMs } : parseWireTime((body as { ts: unknown }).ts);
  if (!ts.ok) return fail(ts.reason);
  if (topicType === 'checkin') {
    // Contract §7: a check-in names one of the school's posts, so the rules can count people per post.
    const post = (body as { post: string }).post;
    const posts = registry.posts(schoolId);
    if (!posts.has(post))
      return fail(`field "post" "${post.slice(0, 64)}" is not a post of school "${schoolId}" (its posts: ${[...posts].slice(0, 20).join(', ')})`);
  }
  return {
    ok: true,
    input: { topic: topicType, school: schoolId, device, payload: body as never, deviceTsMs: ts.ms, receivedAtMs },
  };
}

/** "must be one of panic, duress, …" reads better than TypeBox's "Expected union value". */
function expectation(schema: TSchema, message: string): string {
  const options = (schema as { anyOf?: { const?: unknown }[] }).anyOf;
  if (options && options.every((o) => typeof o.const === 'string')) return `must be one of ${options.map((o) => o.const).join(', ')}`;
  return message;
}

/** Turns a TypeBox error into words: which field, what was wrong. */
function describeError(path: string, message: string, body: Record<string, unknown>): string {
  const field = path.replace(/^\//, '').replace(/\//g, '.');
  if (!field) return `payload ${message.toLowerCase()}`;
  const top = field.split('.')[0];
  if (!(top in body)) return `missing field "${top}"`;
  const value = JSON.stringify(body[top]);
  return `field "${field}" ${message.toLowerCase()} (got ${value && value.length > 60 ? value.slice(0, 60) + '…' : value})`;
}
