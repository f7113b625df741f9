/** The city's checks of what counties send and of its counties file (decision 0010). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCityFeed } from '../../gateway/modules/city/ingest.js';
import { loadCounties } from '../../gateway/modules/city/counties.js';
import { ConfigError } from '../../gateway/config-error.js';
import { REPO_ROOT } from '../support/gateway.js';

const known = new Set(['east', 'west']);
const frame = (over: Record<string, unknown> = {}) => Buffer.from(JSON.stringify({ v: 1, county: 'east', seq: 7, at: 1000, type: 'alarm', data: { id: 'a' }, ...over }));
const reason = (topic: string, payload: Buffer) => {
  const p = parseCityFeed(topic, payload, known);
  return 'refused' in p ? p.refused : 'ok';
};

test('a forwarded frame is taken only on its own county topic, versioned, with a positive seq', () => {
  assert.deepEqual(parseCityFeed('city/v1/east/feed', frame(), known), { ok: { county: 'east', seq: 7, at: 1000, type: 'alarm', data: { id: 'a' } } });
  assert.equal(reason('city/v1/east/other', frame()), 'topic');
  assert.equal(reason('city/v1/north/feed', frame({ county: 'north' })), 'unknown_county');
  assert.equal(reason('city/v1/east/feed', Buffer.from('{')), 'not_json');
  assert.equal(reason('city/v1/east/feed', Buffer.from('3')), 'shape');
  assert.equal(reason('city/v1/east/feed', frame({ v: 2 })), 'version');
  assert.equal(reason('city/v1/east/feed', frame({ county: 'west' })), 'foreign_county');
  for (const seq of [0, -1, 1.5, '7', null]) assert.equal(reason('city/v1/east/feed', frame({ seq })), 'seq', String(seq));
  assert.equal(reason('city/v1/east/feed', frame({ type: 3 })), 'shape');
  assert.equal(reason('city/v1/east/feed', frame({ at: 'now' })), 'shape');
});

test('the counties file: each county once, each with a registry; a school in two counties is refused', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'counties-'));
  const file = path.join(dir, 'counties.json');
  const demo = path.join(REPO_ROOT, 'config/county.json');
  const refused = (doc: unknown, why: RegExp) => {
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
    assert.throws(() => loadCounties(file), (err: Error) => err instanceof ConfigError && /CITY_COUNTIES_FILE/.test(err.message) && why.test(err.message), String(why));
  };
  fs.writeFileSync(file, JSON.stringify({ counties: [{ id: 'east', name: '东区', registry: demo }] }));
  const [east] = loadCounties(file);
  assert.equal(east.id, 'east');
  assert.ok(east.schools.length > 0);
  refused('{', /not JSON/);
  refused({ counties: [] }, /at least one county/);
  refused({ counties: [{ id: 'East', name: 'x', registry: demo }] }, /one topic level/);
  refused({ counties: [{ id: 'east', name: 'x', registry: demo }, { id: 'east', name: 'y', registry: demo }] }, /listed twice/);
  refused({ counties: [{ id: 'east', name: '', registry: demo }] }, /needs a name/);
  refused({ counties: [{ id: 'east', name: 'x', registry: 'missing.json' }] }, /registry of county "east" cannot be loaded/);
  refused({ counties: [{ id: 'east', name: 'x', registry: demo }, { id: 'west', name: 'y', registry: demo }] }, /school "S001" is in the registries of both "east" and "west"/);
});
