import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../gateway/config-error.js';
import { indexRegistry, loadRegistry } from '../gateway/registry.js';
import type { Registry } from '../gateway/contract/registry.js';

const COUNTY = fileURLToPath(new URL('../config/county.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
const fresh = (): Registry => JSON.parse(readFileSync(COUNTY, 'utf8'));
let n = 0;
/** Writes a (broken) registry to a temp file and returns its path. */
const file = (content: Registry | string) => {
  const path = join(dir, `county-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};
/** Loading `path` fails with a ConfigError naming the file, the place, and matching `problem`. */
const rejects = (path: string, where: string, problem: RegExp) =>
  assert.throws(() => loadRegistry(path), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.source, path);
    assert.equal(err.where, where);
    assert.match(err.problem, problem);
    assert.equal(err.message, `${path} at ${where}: ${err.problem}`);
    return true;
  });

test('the generated demo county loads', () => {
  const index = loadRegistry(COUNTY);
  const schools = index.registry.schools;
  assert.equal(schools.length, 84);
  assert.equal(index.schools.size, 84);
  assert.equal(index.registry.county.name, '示范县');
  const all = schools.flatMap((s) => s.devices);
  assert.equal(new Set(all.map((d) => d.id)).size, all.length, 'device ids are unique');
  assert.equal(index.devices.size, all.length);
  const canteen = all.filter((d) => d.kind === 'camera' && d.zone !== 'campus').length;
  assert.ok(canteen >= 1400 && canteen <= 1450, `canteen cameras ${canteen}`);
  for (const s of schools) {
    const count = (k: string) => s.devices.filter((d) => d.kind === k).length;
    assert.ok(count('alarm_button') >= 2 && count('alarm_button') <= 4, `${s.id} alarm buttons`);
    assert.ok(count('gate') >= 1 && count('gate') <= 2, `${s.id} gates`);
    assert.ok(count('checkin_terminal') >= 1 && count('checkin_terminal') <= 2, `${s.id} check-in terminals`);
    const campus = s.devices.filter((d) => d.zone === 'campus').length;
    assert.ok(campus >= 6 && campus <= 20, `${s.id} campus cameras ${campus}`);
    for (const d of s.devices) assert.equal(index.devices.get(d.id)?.school, s.id);
  }
  const types = new Set<string>(schools.map((s) => s.type));
  for (const t of ['kindergarten', 'primary', 'middle', 'high', 'nine_year', 'vocational', 'special']) assert.ok(types.has(t), t);
  assert.equal(schools.filter((s) => s.type === 'vocational').length, 1);
  assert.equal(schools.filter((s) => s.type === 'special').length, 1);
  assert.equal(index.heartbeatIntervalSec('S001-AB01'), 30);
  assert.equal(index.heartbeatIntervalSec('S001-CAM01'), 60);
  assert.throws(() => index.heartbeatIntervalSec('nope'));
});

test('a device heartbeat override wins over the kind default', () => {
  const r = fresh();
  r.schools[0].devices[0].heartbeatIntervalSec = 5;
  assert.equal(indexRegistry(r, 'mem').heartbeatIntervalSec(r.schools[0].devices[0].id), 5);
});

test('an unreadable file', () => {
  rejects(join(dir, 'missing.json'), '(file)', /cannot read.*ENOENT/);
});

test('invalid JSON names line and column', () => {
  rejects(file('{\n  "version": 1,\n  "county": {,\n}'), 'line 3 column 14', /invalid JSON/);
  rejects(file('{"version": 1,'), 'line 1 column 15', /invalid JSON/);
});

test('a schema fault names its JSON pointer', () => {
  const r = fresh();
  (r.schools[3].devices[7] as { zone: string }).zone = 'roof';
  rejects(file(r), '/schools/3/devices/7/zone', /must be one of "campus", "dining", "kitchen", "storage" \(got "roof"\)/);

  const r2 = fresh();
  delete (r2.schools[10] as Partial<Registry['schools'][number]>).region;
  rejects(file(r2), '/schools/10/region', /required field "region" is missing/);

  const r3 = fresh();
  (r3.schools[2].devices[1] as Record<string, unknown>).colour = 'red';
  rejects(file(r3), '/schools/2/devices/1/colour', /unknown field "colour"/);

  const r4 = fresh();
  r4.schools[4].devices[2].id = 'S005 AB03';
  rejects(file(r4), '/schools/4/devices/2/id', /not a valid id/);

  rejects(file({ ...fresh(), version: 2 } as unknown as Registry), '/version', /2/);
});

test('a duplicate school id names both places', () => {
  const r = fresh();
  r.schools[5].id = r.schools[2].id;
  rejects(file(r), '/schools/5/id', /duplicate school id "S003" \(already used at \/schools\/2\/id\)/);
});

test('a duplicate device id names both places, across schools too', () => {
  const r = fresh();
  r.schools[9].devices[4].id = r.schools[1].devices[0].id;
  rejects(file(r), '/schools/9/devices/4/id', /duplicate device id "S002-AB01" \(already used at \/schools\/1\/devices\/0\/id\)/);
});

test('a camera without zone', () => {
  const r = fresh();
  assert.equal(r.schools[3].devices[7].kind, 'camera');
  delete r.schools[3].devices[7].zone;
  rejects(file(r), '/schools/3/devices/7/zone', /camera "S004-CAM01" has no zone/);
});

test('a zone on a non-camera', () => {
  const r = fresh();
  assert.equal(r.schools[0].devices[0].kind, 'alarm_button');
  r.schools[0].devices[0].zone = 'campus';
  rejects(file(r), '/schools/0/devices/0/zone', /only a camera has a zone, but "S001-AB01" is of kind alarm_button/);
});

test('indexRegistry checks an in-memory registry too', () => {
  const r = fresh();
  r.schools[1].id = '_gateway';
  assert.throws(() => indexRegistry(r, 'REGISTRY'), (err: unknown) =>
    err instanceof ConfigError && err.source === 'REGISTRY' && err.where === '/schools/1/id');
});
