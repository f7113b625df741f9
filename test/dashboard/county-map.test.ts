// The county map's pure parts: the layout (deterministic, every school placed, no two markers
// overlapping, township areas holding their schools and apart from each other), the marker states
// from the schools' figures, and the List/Map default.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { SchoolStatus } from '../../gateway/contract/api.js';
import type { Registry } from '../../gateway/contract/registry.js';
import { countyMap, initialSchoolsMode, layoutFor, markerState } from '../../dashboard/state/county-map.js';
import { layoutCounty, MAP_GAP, MARKER_R, type LayoutSchool, type MapLayout } from '../../dashboard/state/map-layout.js';

const registry = JSON.parse(readFileSync(new URL('../../config/county.json', import.meta.url), 'utf8')) as Registry;
const demo: LayoutSchool[] = registry.schools.map((s) => ({ id: s.id, region: s.region }));
const demoTownships = registry.county.townships!;

/** Every school placed once; no two markers closer than MAP_GAP (so 2·MARKER_R shapes never touch); each inside its township's area. */
function assertSound(layout: MapLayout, schools: readonly LayoutSchool[]): void {
  assert.deepEqual(layout.schools.map((p) => p.id), schools.map((s) => s.id), 'every school placed, once, in registry order');
  assert.ok(2 * MARKER_R < MAP_GAP, 'a marker is smaller than the gap');
  for (let i = 0; i < layout.schools.length; i++)
    for (let j = i + 1; j < layout.schools.length; j++) {
      const [a, b] = [layout.schools[i], layout.schools[j]];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      assert.ok(d >= MAP_GAP - 1e-9, `${a.id} and ${b.id} are ${d.toFixed(2)} apart`);
    }
  for (const p of layout.schools) {
    const t = layout.townships.find((x) => x.name === p.township)!;
    assert.ok(Math.hypot(p.x - t.x, p.y - t.y) + MARKER_R <= t.r + 1e-9, `${p.id} inside ${t.name}'s area`);
    const b = layout.bounds;
    assert.ok(p.x - MARKER_R >= b.x && p.x + MARKER_R <= b.x + b.w && p.y - MARKER_R >= b.y && p.y + MARKER_R <= b.y + b.h, `${p.id} within the view`);
  }
  for (const t of layout.townships) assert.ok(t.y - t.r - 2 >= layout.bounds.y, `${t.name}'s name above its area is within the view`);
}

function assertAreasApart(layout: MapLayout): void {
  for (let i = 0; i < layout.townships.length; i++)
    for (let j = i + 1; j < layout.townships.length; j++) {
      const [a, b] = [layout.townships[i], layout.townships[j]];
      assert.ok(Math.hypot(a.x - b.x, a.y - b.y) > a.r + b.r, `${a.name} and ${b.name} areas overlap`);
    }
}

describe('county map layout', () => {
  it('places the demo county: its townships where the registry says, every school inside, none overlapping', () => {
    const layout = layoutCounty(demo, demoTownships);
    assertSound(layout, demo);
    assertAreasApart(layout);
    assert.equal(layout.townships.length, 10);
    for (const t of demoTownships) {
      const placed = layout.townships.find((x) => x.name === t.name)!;
      assert.deepEqual([placed.x, placed.y, placed.nameEn], [t.x, t.y, t.nameEn]);
      assert.equal(placed.schools.length, registry.schools.filter((s) => s.region === t.name).length);
    }
    // Wide like the wall's pane, so the markers are big enough to read.
    assert.ok(layout.bounds.w / layout.bounds.h > 2, `aspect ${(layout.bounds.w / layout.bounds.h).toFixed(2)}`);
  });

  it('is deterministic: the same registry gives the same map', () => {
    assert.deepEqual(layoutCounty(demo, demoTownships), layoutCounty(structuredClone(demo), structuredClone(demoTownships)));
    assert.deepEqual(layoutCounty(demo), layoutCounty(demo));
  });

  it('lays out townships itself when the registry gives none: the biggest in the middle, areas apart', () => {
    const layout = layoutCounty(demo);
    assertSound(layout, demo);
    assertAreasApart(layout);
    const biggest = layout.townships.reduce((a, b) => (b.schools.length > a.schools.length ? b : a));
    assert.equal(biggest.name, '城关镇');
    assert.deepEqual([biggest.x, biggest.y], [50, 50]);
  });

  it('keeps a school’s own position and places the others around it', () => {
    const schools: LayoutSchool[] = [
      { id: 'A', region: 'T', map: { x: 50, y: 50 } }, // on the township centre: the first free slot is taken
      { id: 'B', region: 'T' },
      { id: 'C', region: 'T', map: { x: 53, y: 50 } }, // on the first ring's eastern slot
      { id: 'D', region: 'T' },
      { id: 'E', region: 'U' },
      { id: 'F', region: 'V', map: { x: 21.5, y: 20 } }, // near its township's centre: the centre slot is too close now
      { id: 'G', region: 'V' },
    ];
    const layout = layoutCounty(schools, [{ name: 'T', x: 50, y: 50 }, { name: 'U', x: 80, y: 50 }, { name: 'V', x: 20, y: 20 }]);
    assertSound(layout, schools);
    assert.deepEqual(layout.schools.find((p) => p.id === 'A'), { id: 'A', township: 'T', x: 50, y: 50 });
    assert.deepEqual(layout.schools.find((p) => p.id === 'C'), { id: 'C', township: 'T', x: 53, y: 50 });
    assert.deepEqual(layout.schools.find((p) => p.id === 'E'), { id: 'E', township: 'U', x: 80, y: 50 }, 'alone: on its centre');
    assert.notDeepEqual(layout.schools.find((p) => p.id === 'G'), { id: 'G', township: 'V', x: 20, y: 20 }, 'not on the centre, 1.5 from F');
  });

  it('places regions the township list lacks, below the listed ones, without overlap', () => {
    const schools: LayoutSchool[] = [...Array.from({ length: 20 }, (_, i) => ({ id: `a${i}`, region: 'Listed' })), ...Array.from({ length: 7 }, (_, i) => ({ id: `b${i}`, region: 'Unlisted' }))];
    const layout = layoutCounty(schools, [{ name: 'Listed', x: 50, y: 50 }]);
    assertSound(layout, schools);
    assertAreasApart(layout);
  });

  it('places a large county (600 schools in 25 townships) without overlap', () => {
    const schools = Array.from({ length: 600 }, (_, i) => ({ id: `s${i}`, region: `t${(i * 7) % 25}` }));
    const layout = layoutCounty(schools);
    assertSound(layout, schools);
    assertAreasApart(layout);
  });

  it('an empty registry gives an empty map', () => {
    assert.deepEqual(layoutCounty([]), { townships: [], schools: [], bounds: { x: 0, y: 0, w: 100, h: 100 } });
  });
});

const status = (id: string, region: string, online: number, total: number, openAlarms: number): SchoolStatus => ({
  id, name: `示范县${id}`, type: 'primary', students: 100, region, devices: { online, total }, openAlarms,
});

describe('county map model', () => {
  it('a school’s state: alarm over devices offline over normal', () => {
    assert.equal(markerState(status('A', 'T', 5, 5, 0)), 'normal');
    assert.equal(markerState(status('A', 'T', 4, 5, 0)), 'offline');
    assert.equal(markerState(status('A', 'T', 4, 5, 1)), 'alarm');
    assert.equal(markerState(status('A', 'T', 5, 5, 2)), 'alarm');
    assert.equal(markerState(status('A', 'T', 0, 0, 0)), 'normal', 'no devices registered: nothing offline');
  });

  it('marks, labels and counts from the figures; a township with an alarm is hot', () => {
    const schools = { A: status('A', 'T', 5, 5, 0), B: status('B', 'T', 3, 5, 0), C: status('C', 'U', 5, 5, 1), D: { ...status('D', 'U', 5, 5, 0), map: { x: 90, y: 10 } } };
    const layout = layoutFor(schools, ['A', 'B', 'C', 'D'], [{ name: 'T', x: 20, y: 50 }, { name: 'U', x: 70, y: 50 }]);
    assert.deepEqual(layout.schools.find((p) => p.id === 'D'), { id: 'D', township: 'U', x: 90, y: 10 }, 'the school’s own position');
    const model = countyMap(layout, schools);
    assert.deepEqual(model.markers.map((m) => [m.id, m.state, m.labelled]), [['A', 'normal', false], ['B', 'offline', false], ['C', 'alarm', true], ['D', 'normal', false]]);
    assert.deepEqual(model.counts, { alarm: 1, offline: 1, normal: 2 });
    assert.deepEqual(model.townships.map((t) => [t.name, t.alarms, t.offline]), [['T', 0, 1], ['U', 1, 0]]);
    // The alarm resolved: back to normal, unlabelled; the township cools.
    const after = countyMap(layout, { ...schools, C: { ...schools.C, openAlarms: 0 } });
    assert.deepEqual(after.markers.find((m) => m.id === 'C')!.state, 'normal');
    assert.equal(after.townships[1].alarms, 0);
  });

  it('a school the figures lack is left out, not drawn as normal', () => {
    const schools = { A: status('A', 'T', 5, 5, 0), B: status('B', 'T', 5, 5, 0) };
    const layout = layoutFor(schools, ['A', 'B']);
    const { B: _gone, ...rest } = schools;
    assert.deepEqual(countyMap(layout, rest).markers.map((m) => m.id), ['A']);
  });

  it('List or Map: the remembered choice, else Map from 1920 wide', () => {
    assert.equal(initialSchoolsMode(null, 1920), 'map');
    assert.equal(initialSchoolsMode(null, 3840), 'map');
    assert.equal(initialSchoolsMode(null, 1366), 'list');
    assert.equal(initialSchoolsMode('list', 3840), 'list');
    assert.equal(initialSchoolsMode('map', 1280), 'map');
    assert.equal(initialSchoolsMode('bogus', 1280), 'list');
  });
});
