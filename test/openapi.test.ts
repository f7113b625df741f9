/**
 * GET /openapi.json: valid OpenAPI 3 (checked by @apidevtools/swagger-parser, the validator
 * @fastify/swagger's own tests use), listing every route Fastify has (bar the WebSocket feed and
 * the static files, described in words), each with a 2xx response schema.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { REPO_ROOT } from './support/gateway.js';
import { buildInProcess, type InProcessGateway } from './routes/harness.js';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;

let gw: InProcessGateway;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;

before(async () => {
  gw = await buildInProcess();
  const res = await gw.call('GET', '/openapi.json'); // anyone: no token
  assert.equal(res.status, 200);
  doc = res.body;
});
after(() => gw?.close());

/**
 * Every "METHOD /path" Fastify routes, from `printRoutes({ commonPrefix: false })`: one line per
 * tree node, `│   `/`    ` per level, then `├── `/`└── `, the segment and its `(METHODS)`.
 */
function fastifyRoutes(tree: string): Set<string> {
  const routes = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = [...m[1]].length / 4;
    stack.length = depth;
    stack.push(m[2]);
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD') routes.add(`${method} ${stack.join('')}`);
  }
  return routes;
}

/** Every "METHOD /path" of the document, with `{param}` written the Fastify way (`:param`). */
function documented(): Set<string> {
  const ops = new Set<string>();
  for (const [p, item] of Object.entries<Record<string, unknown>>(doc.paths))
    for (const m of METHODS) if (item[m]) ops.add(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`);
  return ops;
}

function operations(): { key: string; op: any }[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  return Object.entries<Record<string, unknown>>(doc.paths).flatMap(([p, item]) => METHODS.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${p}`, op: item[m] })));
}

test('is a valid OpenAPI 3 document', async () => {
  assert.match(doc.openapi, /^3\.\d+\.\d+$/);
  await SwaggerParser.validate(structuredClone(doc)); // throws with the faults when invalid
});

test('names the gateway, its version and how to authenticate', () => {
  assert.equal(doc.info.title, pkg.name);
  assert.equal(doc.info.version, pkg.version);
  assert.deepEqual(
    { type: doc.components.securitySchemes.bearerAuth.type, scheme: doc.components.securitySchemes.bearerAuth.scheme, bearerFormat: doc.components.securitySchemes.bearerAuth.bearerFormat },
    { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
  );
  // The WebSocket feed is not an operation; the description says how it works, and where MQTT is.
  assert.match(doc.info.description, /GET \/live[\s\S]*WebSocket[\s\S]*\?token=[\s\S]*resume/);
  assert.match(doc.info.description, /docs\/asyncapi\.yaml/);
});

test('lists every route Fastify has, except the WebSocket feed and the static files', () => {
  const routes = fastifyRoutes(gw.app.printRoutes({ commonPrefix: false }));
  assert.ok(routes.has('POST /api/alarms/:alarmId/ack') && routes.has('GET /health'), `route tree not understood:\n${[...routes].join('\n')}`);
  const ops = documented();
  // The static files (`GET *`) are there only once the wall screen is built (npm run build).
  // The operator console's page (`GET /console`, issue #12) is one of the static files too.
  const hidden = [...routes].filter((r) => !ops.has(r) && r !== 'GET *' && r !== 'GET /console' && r !== 'GET /console/');
  assert.deepEqual(hidden, ['GET /live'], 'only /live (WebSocket) and the static files are left out');
  assert.ok(!ops.has('GET *'));
  assert.deepEqual([...ops].filter((o) => !routes.has(o)), [], 'nothing documented that Fastify does not route');
});

test('every operation has a tag, a summary and a 2xx response with a schema', () => {
  const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
  for (const { key, op } of operations()) {
    assert.ok(op.summary, `${key}: summary`);
    assert.ok(op.tags?.length && op.tags.every((t: string) => tags.has(t)), `${key}: tags ${op.tags} declared at the top`);
    const ok = Object.entries<any>(op.responses).filter(([code]) => /^2\d\d$/.test(code)); // eslint-disable-line @typescript-eslint/no-explicit-any
    assert.ok(ok.length > 0, `${key}: no 2xx response`);
    for (const [code, r] of ok) {
      const schemas = Object.values<any>(r.content ?? {}).map((c) => c.schema); // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.ok(schemas.length > 0 && schemas.every(Boolean), `${key} ${code}: no schema`);
    }
  }
});

test('routes behind a token say so and declare 401; errors are {error, message}', () => {
  // Like the login, a kiosk's set-up and session routes take their secret in the body, not a bearer token.
  const open = new Set(['GET /openapi.json', 'GET /health', 'GET /metrics', 'POST /api/login', 'POST /api/kiosk/setup', 'POST /api/kiosk/session']);
  // A vendor's push is authenticated by the vendor's key (either header), not by an operator's token.
  const vendorKey = new Set(['POST /api/push/{vendor}']);
  for (const { key, op } of operations()) {
    if (vendorKey.has(key)) {
      assert.deepEqual(op.security, [{ vendorKey: [] }, { vendorApiKey: [] }], `${key}: security`);
      assert.ok(op.responses['401'], `${key}: 401`);
    } else if (!open.has(key)) {
      assert.deepEqual(op.security, [{ bearerAuth: [] }], `${key}: security`);
      assert.ok(op.responses['401'], `${key}: 401`);
    } else assert.equal(op.security, undefined, `${key} is open to anyone`);
    for (const [code, r] of Object.entries<any>(op.responses)) { // eslint-disable-line @typescript-eslint/no-explicit-any
      if (!/^[45]\d\d$/.test(code) || (key === 'GET /health' && code === '503')) continue;
      const schema = r.content['application/json'].schema;
      assert.deepEqual([...schema.required].sort(), ['error', 'message'].concat(code === '409' && key.startsWith('POST /api/alarms/') ? ['alarm', 'state'] : code === '409' && key.startsWith('POST /api/canteen/cases/') ? ['state'] : []).sort(), `${key} ${code}`);
      assert.equal(schema.additionalProperties, true, `${key} ${code}: more fields may follow`);
    }
  }
  const uptime = doc.paths['/api/cameras/uptime'].get.responses['200'].content;
  assert.deepEqual(Object.keys(uptime).sort(), ['application/json', 'text/csv']);
  assert.equal(uptime['text/csv'].schema.type, 'string');
  assert.equal(doc.paths['/metrics'].get.responses['200'].content['text/plain'].schema.type, 'string');
});
