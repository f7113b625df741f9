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
  // The numbers README.md and the docs state: 2,970 devices before the canteen terminals (86: S002 and S031 have two canteens).
  assert.equal(all.length, 3056);
  assert.equal(all.filter((d) => d.kind === 'canteen_terminal').length, 86);
  const canteen = all.filter((d) => d.kind === 'camera' && d.zone !== 'campus').length;
  assert.ok(canteen >= 1400 && canteen <= 1450, `canteen cameras ${canteen}`);
  for (const s of schools) {
    const count = (k: string) => s.devices.filter((d) => d.kind === k).length;
    assert.ok(count('alarm_button') >= 2 && count('alarm_button') <= 4, `${s.id} alarm buttons`);
    assert.ok(count('gate') >= 1 && count('gate') <= 3, `${s.id} gate controllers`);
    assert.equal(count('gate'), s.gates?.length, `${s.id}: one controller per gate`);
    assert.equal(count('checkin_terminal'), count('gate') + 1, `${s.id}: a check-in terminal per gate and one in the gatehouse`);
    assert.equal(count('nvr'), 1, `${s.id} NVR`);
    assert.equal(count('canteen_terminal'), s.canteens?.length, `${s.id}: a canteen terminal per canteen`);
    assert.ok(s.area !== undefined && s.boarders !== undefined, `${s.id} area and boarders`);
    if (s.type === 'kindergarten') assert.equal(s.boarders, 0);
    const campus = s.devices.filter((d) => d.zone === 'campus').length;
    assert.ok(campus >= 6 && campus <= 20, `${s.id} campus cameras ${campus}`);
    for (const d of s.devices) assert.equal(index.devices.get(d.id)?.school, s.id);
  }
  const types = new Set<string>(schools.map((s) => s.type));
  for (const t of ['kindergarten', 'primary', 'middle', 'high', 'nine_year', 'vocational', 'special']) assert.ok(types.has(t), t);
  assert.equal(schools.filter((s) => s.type === 'vocational').length, 1);
  assert.equal(schools.filter((s) => s.type === 'special').length, 1);
  const areas = (a: string) => schools.filter((s) => s.area === a).length;
  for (const a of ['urban', 'town', 'rural']) assert.ok(areas(a) >= 20 && areas(a) <= 34, `${a} ${areas(a)}`);
  // Most schools cover every required place with a camera; a few (realistic failures) miss one.
  const REQUIRED = ['gate_inside', 'gate_outside', 'gatehouse', 'canteen_kitchen'];
  const missing = schools.filter((s) => {
    const covered = new Set(s.devices.flatMap((d) => d.covers ?? []));
    return REQUIRED.some((p) => !covered.has(p as never));
  });
  assert.deepEqual(missing.map((s) => s.id), ['S047', 'S064', 'S080']);
  assert.equal(index.heartbeatIntervalSec('S001-NVR01'), 60);
  assert.deepEqual([...index.posts('S001')].sort(), ['east-1', 'gatehouse', 'main-1', 'main-2', 'side-1']);
  assert.equal(index.devices.get('S001-GATE1')?.gate, 'main');
  assert.equal(index.devices.get('S001-CHKGH')?.post, 'gatehouse');
  assert.equal(index.heartbeatIntervalSec('S001-AB01'), 30);
  assert.equal(index.heartbeatIntervalSec('S001-CAM01'), 60);
  assert.equal(index.heartbeatIntervalSec('S001-CT1'), 60);
  assert.deepEqual(['S002-CT1', 'S002-CT2'].map((id) => index.devices.get(id)?.name), ['第一食堂管理终端', '第二食堂管理终端']);
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

test('gates and posts: ids unique within a school, and "gatehouse" is reserved', () => {
  const r = fresh();
  assert.equal(r.schools[0].gates![1].id, 'side');
  r.schools[0].gates![1].id = 'main';
  rejects(file(r), '/schools/0/gates/1/id', /duplicate gate id "main" in school "S001" \(already used at \/schools\/0\/gates\/0\/id\)/);

  const r2 = fresh();
  r2.schools[0].gates![2].posts.push('main-2');
  rejects(file(r2), '/schools/0/gates/2/posts/1', /duplicate post id "main-2" in school "S001" \(already used at \/schools\/0\/gates\/0\/posts\/1\)/);

  const r3 = fresh();
  r3.schools[4].gates![0].posts[0] = 'gatehouse';
  rejects(file(r3), '/schools/4/gates/0/posts/0', /post id "gatehouse" is reserved for the school's gatehouse/);

  // The same gate and post ids in two schools are fine.
  const r4 = fresh();
  assert.equal(r4.schools[1].gates![0].id, r4.schools[0].gates![0].id);
  assert.doesNotThrow(() => indexRegistry(r4, 'mem'));
});

test("a gate controller names one of its school's gates; only gate controllers do", () => {
  const r = fresh();
  const gi = r.schools[83].devices.findIndex((d) => d.kind === 'gate');
  r.schools[83].devices[gi].gate = 'east';
  rejects(file(r), `/schools/83/devices/${gi}/gate`, /gate controller "S084-GATE1" names gate "east", which school "S084" does not have \(its gates: main\)/);

  const r2 = fresh();
  r2.schools[0].devices[0].gate = 'main';
  rejects(file(r2), '/schools/0/devices/0/gate', /only a gate controller names a gate, but "S001-AB01" is of kind alarm_button/);

  const r3 = fresh();
  delete r3.schools[83].gates;
  rejects(file(r3), `/schools/83/devices/${gi}/gate`, /it registers no gates/);
});

test('covers only on cameras; a terminal stands at one of its school\'s posts', () => {
  const r = fresh();
  r.schools[0].devices[0].covers = ['gatehouse'];
  rejects(file(r), '/schools/0/devices/0/covers', /only a camera covers places, but "S001-AB01" is of kind alarm_button/);

  const r2 = fresh();
  const ti = r2.schools[83].devices.findIndex((d) => d.kind === 'checkin_terminal');
  r2.schools[83].devices[ti].post = 'side-1';
  rejects(file(r2), `/schools/83/devices/${ti}/post`, /check-in terminal "S084-CHK1" stands at post "side-1", which school "S084" does not have \(its posts: main-1, gatehouse\)/);

  const r3 = fresh();
  r3.schools[0].devices[0].post = 'gatehouse';
  rejects(file(r3), '/schools/0/devices/0/post', /only a check-in terminal stands at a post/);
});

test('posts: gate posts and the gatehouse; a school without gates has only its gatehouse', () => {
  const r = fresh();
  delete r.schools[5].gates;
  r.schools[5].devices = r.schools[5].devices.filter((d) => d.gate === undefined && (d.post === undefined || d.post === 'gatehouse'));
  const index = indexRegistry(r, 'mem');
  assert.deepEqual([...index.posts(r.schools[5].id)], ['gatehouse']);
  assert.deepEqual([...index.posts('S084')], ['main-1', 'gatehouse']);
  assert.equal(index.posts('nope').size, 0);
});

// Contract §8: canteens and their areas, credit codes, vendor references.

test('the demo county: canteens with areas, credit codes, vendor references and their lookups', () => {
  const index = loadRegistry(COUNTY);
  const schools = index.registry.schools;
  for (const s of schools) {
    assert.ok(s.creditCode, `${s.id} credit code`);
    assert.equal(index.schoolByCreditCode(s.creditCode!)?.id, s.id);
    assert.ok(s.canteens && s.canteens.length >= 1, `${s.id} canteens`);
    for (const d of s.devices.filter((d) => d.kind === 'camera' && d.zone !== 'campus')) {
      assert.ok(d.canteen && d.area && d.vendorRef && d.gb28181Id, `${d.id} canteen, area, vendorRef, gb28181Id`);
      assert.equal(index.cameraByVendorRef(d.vendorRef!.nvrSerial, d.vendorRef!.channel)?.id, d.id);
      assert.equal(index.cameraByGb28181Id(d.gb28181Id!)?.id, d.id);
    }
  }
  assert.equal(schools.filter((s) => s.canteens!.length === 2).length, 2, 'two schools have two canteens');
  const kg = schools.find((s) => s.type === 'kindergarten')!;
  assert.ok(kg.canteens![0].areas.length < 7, 'a kindergarten kitchen has fewer areas');
  assert.equal(index.schoolByCreditCode('91350100M000100Y43'), undefined);
  assert.equal(index.cameraByVendorRef('nope', 1), undefined);
  assert.equal(index.cameraByGb28181Id('00000000000000000000'), undefined);
  // Campus cameras carry none of it.
  assert.equal(index.devices.get('S001-CAM01')?.vendorRef, undefined);
});

test('credit code: charset, shape and GB 32100-2015 check character', async () => {
  const { creditCodeProblem, creditCodeCheckChar } = await import('../gateway/domain/credit-code.js');
  // Real-format codes: the standard's own example and a registered company's.
  assert.equal(creditCodeProblem('91350100M000100Y43'), undefined);
  assert.equal(creditCodeProblem('91440300708461136T'), undefined);
  assert.equal(creditCodeCheckChar('91350100M000100Y4'), '3');
  assert.match(creditCodeProblem('91350100M000100Y44')!, /check character.*should be "3", not "4"/);
  assert.match(creditCodeProblem('91350100M000100Y4')!, /17 characters, not 18/);
  assert.match(creditCodeProblem('91350100M000I00Y43')!, /"I" at position 13/);
  assert.match(creditCodeProblem('913501A0M000100Y43')!, /administrative division/);
  // A sum that is 0 mod 31 has check character 0 (31 written as 0).
  for (let n = 0; n < 2000; n++) {
    const first17 = `12150199${String(n).padStart(9, '0')}`;
    const c = creditCodeCheckChar(first17)!;
    assert.equal(creditCodeProblem(first17 + c), undefined);
  }

  const r = fresh();
  r.schools[2].creditCode = '91350100M000100Y44';
  rejects(file(r), '/schools/2/creditCode', /should be "3", not "4"/);
  const r2 = fresh();
  r2.schools[2].creditCode = '91350100M000100O43';
  rejects(file(r2), '/schools/2/creditCode', /is not a 统一社会信用代码 \(18 characters of 0-9 and A-Z without I, O, Z, S, V\)/);
  const r3 = fresh();
  r3.schools[7].creditCode = r3.schools[1].creditCode;
  rejects(file(r3), '/schools/7/creditCode', /duplicate 统一社会信用代码 ".*" \(already used at \/schools\/1\/creditCode\)/);
});

test('canteens: ids unique within a school, no area twice, area values checked', () => {
  const r = fresh();
  r.schools[1].canteens![1].id = 'c1';
  rejects(file(r), '/schools/1/canteens/1/id', /duplicate canteen id "c1" in school "S002" \(already used at \/schools\/1\/canteens\/0\/id\)/);
  const r2 = fresh();
  r2.schools[0].canteens![0].areas.push('dining');
  rejects(file(r2), '/schools/0/canteens/0/areas', /expected array length to be less or equal to 7/);
  const r3 = fresh();
  r3.schools[0].canteens![0].areas = ['processing', 'dining', 'processing'];
  r3.schools[0].devices = r3.schools[0].devices.filter((d) => d.area === undefined || d.area === 'processing' || d.area === 'dining');
  rejects(file(r3), '/schools/0/canteens/0/areas/2', /canteen "main" lists area "processing" twice \(already at \/schools\/0\/canteens\/0\/areas\/0\)/);
  const r4 = fresh();
  (r4.schools[0].canteens![0].areas as string[])[0] = 'roof';
  rejects(file(r4), '/schools/0/canteens/0/areas/0', /must be one of "processing", "special_room", "serving", "washing", "storage", "sample", "dining" \(got "roof"\)/);
});

test('a canteen camera names a canteen of its school and one of its areas; only canteen cameras do', () => {
  const r = fresh();
  const kc = r.schools[0].devices.findIndex((d) => d.id === 'S001-KC01');
  r.schools[0].devices[kc].canteen = 'c9';
  rejects(file(r), `/schools/0/devices/${kc}/canteen`, /camera "S001-KC01" names canteen "c9", which school "S001" does not have \(its canteens: main\)/);

  const kg = fresh();
  const k = kg.schools.findIndex((s) => s.type === 'kindergarten' && !s.canteens![0].areas.includes('washing'));
  const ki = kg.schools[k].devices.findIndex((d) => d.canteen !== undefined);
  kg.schools[k].devices[ki].area = 'washing';
  rejects(file(kg), `/schools/${k}/devices/${ki}/area`, /watches area "washing", which canteen "main" of school "S0\d\d" does not have \(its areas: processing, special_room, serving, /);

  const r2 = fresh();
  delete r2.schools[0].devices[kc].canteen;
  rejects(file(r2), `/schools/0/devices/${kc}/canteen`, /camera "S001-KC01" names area "processing" but not its canteen \(one of main\)/);

  const r3 = fresh();
  const cam = r3.schools[0].devices.findIndex((d) => d.id === 'S001-CAM01');
  r3.schools[0].devices[cam].area = 'dining';
  rejects(file(r3), `/schools/0/devices/${cam}/area`, /only a canteen camera \(zone dining, kitchen, storage\) names a canteen or area, but "S001-CAM01" is a camera in zone campus/);

  const r4 = fresh();
  r4.schools[0].devices[0].canteen = 'main';
  rejects(file(r4), '/schools/0/devices/0/canteen', /but "S001-AB01" is of kind alarm_button/);

  const r5 = fresh();
  delete r5.schools[0].canteens;
  rejects(file(r5), `/schools/0/devices/${r5.schools[0].devices.findIndex((d) => d.canteen)}/canteen`, /it registers no canteens/);
});

test('vendor references and GB/T 28181 ids: on cameras only, unique across the county', () => {
  const r = fresh();
  const a = r.schools[0].devices.findIndex((d) => d.id === 'S001-KC02');
  const b = r.schools[5].devices.findIndex((d) => d.vendorRef);
  r.schools[5].devices[b].vendorRef = { ...r.schools[0].devices[a].vendorRef! };
  rejects(file(r), `/schools/5/devices/${b}/vendorRef`, new RegExp(`NVR ".{15}" channel 2 is already the camera at /schools/0/devices/${a}/vendorRef`));

  const r2 = fresh();
  r2.schools[5].devices[b].gb28181Id = r2.schools[0].devices[a].gb28181Id;
  rejects(file(r2), `/schools/5/devices/${b}/gb28181Id`, new RegExp(`duplicate GB/T 28181 id "\\d{20}" \\(already used at /schools/0/devices/${a}/gb28181Id\\)`));

  const r3 = fresh();
  r3.schools[0].devices[a].gb28181Id = '1501990011131700000';
  rejects(file(r3), `/schools/0/devices/${a}/gb28181Id`, /"1501990011131700000" is not a GB\/T 28181 id \(20 digits\)/);

  const r4 = fresh();
  r4.schools[0].devices[0].vendorRef = { nvrSerial: 'X1', channel: 1 };
  rejects(file(r4), '/schools/0/devices/0/vendorRef', /only a camera has a vendor reference, but "S001-AB01" is of kind alarm_button/);

  const r5 = fresh();
  r5.schools[0].devices[0].gb28181Id = '15019900111317999999';
  rejects(file(r5), '/schools/0/devices/0/gb28181Id', /only a camera has a GB\/T 28181 id/);

  const r6 = fresh();
  r6.schools[0].devices[a].vendorRef!.channel = 0;
  rejects(file(r6), `/schools/0/devices/${a}/vendorRef/channel`, /expected integer to be greater or equal to 1 \(got 0\)/);

  // The same channel number on two NVRs is two cameras.
  const r7 = fresh();
  const idx = indexRegistry(r7, 'mem');
  const one = r7.schools[0].devices[a].vendorRef!;
  assert.equal(idx.cameraByVendorRef(one.nvrSerial, one.channel)?.id, 'S001-KC02');
  assert.equal(idx.cameraByVendorRef(one.nvrSerial, 999), undefined);
});

test('county map positions: townships name every region once, positions on the 0–100 grid, schools apart', () => {
  // The demo county gives every township's place; a school may give its own.
  const ok = fresh();
  assert.equal(ok.county.townships?.length, 10);
  ok.schools[0].map = { x: 12.5, y: 40 };
  ok.schools[1].map = { x: 15, y: 40 };
  assert.deepEqual(loadRegistry(file(ok)).schools.get(ok.schools[0].id)?.map, { x: 12.5, y: 40 });
  // Without townships the wall lays them out itself: still a valid registry.
  const none = fresh();
  delete none.county.townships;
  assert.equal(loadRegistry(file(none)).schools.size, 84);

  const dup = fresh();
  dup.county.townships![3] = { ...dup.county.townships![3], name: dup.county.townships![0].name };
  rejects(file(dup), '/county/townships/3/name', /duplicate township "城关镇" \(already at \/county\/townships\/0\)/);

  const missing = fresh();
  const gone = missing.county.townships!.findIndex((t) => t.name === missing.schools[83].region);
  const region = missing.county.townships![gone].name;
  missing.county.townships!.splice(gone, 1);
  const first = missing.schools.findIndex((s) => s.region === region);
  rejects(file(missing), `/schools/${first}/region`, new RegExp(`school "${missing.schools[first].id}" is in region "${region}", which /county/townships does not list`));

  const empty = fresh();
  empty.county.townships!.push({ name: '无校镇', x: 50, y: 90 });
  rejects(file(empty), '/county/townships/10/name', /township "无校镇" has no school/);

  const off = fresh();
  off.county.townships![2].x = 120;
  rejects(file(off), '/county/townships/2/x', /expected number to be less or equal to 100 \(got 120\)/);

  const offSchool = fresh();
  offSchool.schools[4].map = { x: -1, y: 20 };
  rejects(file(offSchool), '/schools/4/map/x', /expected number to be greater or equal to 0 \(got -1\)/);

  const extra = fresh();
  (extra.schools[4] as { map?: unknown }).map = { x: 1, y: 2, z: 3 };
  rejects(file(extra), '/schools/4/map/z', /unknown field "z"/);

  const close = fresh();
  close.schools[2].map = { x: 30, y: 30 };
  close.schools[7].map = { x: 31, y: 31.5 };
  rejects(file(close), '/schools/7/map', new RegExp(`school "${close.schools[7].id}" at \\(31, 31.5\\) is closer than 2.5 to school "${close.schools[2].id}" at \\(30, 30\\) \\(/schools/2/map\\); their map markers would overlap`));
});
