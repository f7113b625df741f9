/**
 * The county map's layout: where each township and school sits on the schematic map (grid units,
 * the registry's 0–100 grid). Pure and deterministic: the same registry gives the same map.
 *
 * Townships: the registry's `county.townships` centres; without them, the township with the most
 * schools in the middle and the others on a wide ellipse around it (the wall's pane is wider than
 * tall). Schools: their own `map` position when the registry gives one; the others on rings around
 * their township's centre, each in the first free slot (never closer than MAP_GAP to any marker).
 */

/** A marker's shapes stay within this radius of its centre (grid units). */
export const MARKER_R = 1.15;
/** No two markers' centres closer than this: markers never overlap (≤ the registry's MAP_MIN_SCHOOL_GAP 2.5). */
export const MAP_GAP = 2.5;
/** Between rings of schools around a township centre, and between slots on a ring. */
export const RING_STEP = 3;
/** Between two townships' areas when the layout places them. */
const TOWNSHIP_GAP = 3;
/** Room between a township's outermost marker and its area's edge. */
const AREA_PAD = 1.2;
/** Above a township's area: its name. */
export const TOWNSHIP_LABEL = 3.2;

export interface LayoutTownship {
  name: string;
  nameEn?: string;
  x: number;
  y: number;
}
export interface LayoutSchool {
  id: string;
  region: string;
  map?: { x: number; y: number };
}

export interface PlacedTownship {
  name: string;
  nameEn?: string;
  x: number;
  y: number;
  /** Its area's radius: every one of its schools' markers inside. */
  r: number;
  /** Its schools' ids, in registry order. */
  schools: string[];
}
export interface PlacedSchool {
  id: string;
  township: string;
  x: number;
  y: number;
}
export interface MapLayout {
  townships: PlacedTownship[];
  schools: PlacedSchool[];
  /** What to show (the SVG viewBox): every area and township name, with a margin. */
  bounds: { x: number; y: number; w: number; h: number };
}

/** Slots on ring k (k ≥ 1) around a centre: as many as fit RING_STEP apart. */
const slotsOnRing = (k: number) => Math.floor((2 * Math.PI * k * RING_STEP) / RING_STEP);

/** The ring a township of n schools needs to reach (0: the centre alone). */
function ringsFor(n: number): number {
  let k = 0;
  let cap = 1;
  while (cap < n) cap += slotsOnRing(++k);
  return k;
}

/** An area's radius before placement, from its school count (for placing the townships apart). */
const estimatedRadius = (n: number) => ringsFor(n) * RING_STEP + MARKER_R + AREA_PAD;

/** Every slot around (cx, cy), nearest first: the centre, then ring by ring (each ring turned a little, so rings do not line up). */
function* slots(cx: number, cy: number): Generator<{ x: number; y: number }> {
  yield { x: cx, y: cy };
  for (let k = 1; k < 10_000; k++) {
    const n = slotsOnRing(k);
    const turn = -Math.PI / 2 + k * 0.5;
    for (let i = 0; i < n; i++) {
      const a = turn + (2 * Math.PI * i) / n;
      yield { x: cx + Math.cos(a) * k * RING_STEP, y: cy + Math.sin(a) * k * RING_STEP };
    }
  }
}

const round = (v: number) => Math.round(v * 100) / 100;

/** The townships' centres when the registry gives none (or not for all): see the module comment. */
function placeTownships(names: string[], count: Map<string, number>, given: Map<string, LayoutTownship>): Map<string, { x: number; y: number }> {
  const out = new Map<string, { x: number; y: number }>();
  for (const n of names) {
    const g = given.get(n);
    if (g) out.set(n, { x: g.x, y: g.y });
  }
  const missing = names.filter((n) => !out.has(n));
  if (!missing.length) return out;
  const radius = (n: string) => estimatedRadius(count.get(n) ?? 0);
  if (out.size) {
    // Some given, some not: the rest in a row under the given ones.
    let bottom = -Infinity;
    for (const [n, p] of out) bottom = Math.max(bottom, p.y + radius(n));
    let x = 0;
    for (const n of missing) {
      const r = radius(n);
      out.set(n, { x: x + r, y: bottom + TOWNSHIP_GAP + TOWNSHIP_LABEL + r });
      x += 2 * r + TOWNSHIP_GAP;
    }
    return out;
  }
  // None given: the biggest township in the middle, the others on an ellipse around it, from the north clockwise.
  const bySize = [...missing].sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) || names.indexOf(a) - names.indexOf(b));
  const [middle, ...around] = bySize;
  out.set(middle, { x: 50, y: 50 });
  if (!around.length) return out;
  const rMax = Math.max(...around.map(radius));
  let ry = radius(middle) + rMax + TOWNSHIP_GAP + TOWNSHIP_LABEL;
  const at = (i: number, s: number) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / around.length;
    return { x: 50 + Math.cos(a) * ry * 1.7 * s, y: 50 + Math.sin(a) * ry * s };
  };
  // Grow the ellipse until neighbours on it are apart (their areas and names do not touch).
  let s = 1;
  const apart = () =>
    around.every((n, i) => {
      const j = (i + 1) % around.length;
      if (j === i) return true;
      const p = at(i, s);
      const q = at(j, s);
      return Math.hypot(p.x - q.x, p.y - q.y) >= radius(n) + radius(around[j]) + TOWNSHIP_GAP + TOWNSHIP_LABEL;
    });
  for (let guard = 0; guard < 200 && !apart(); guard++) s *= 1.05;
  ry *= s;
  around.forEach((n, i) => out.set(n, at(i, 1)));
  return out;
}

export function layoutCounty(schools: readonly LayoutSchool[], townships: readonly LayoutTownship[] = []): MapLayout {
  const given = new Map(townships.map((t) => [t.name, t]));
  // Townships in the registry's order, then any region it does not list, in school order.
  const names = [...new Set([...townships.map((t) => t.name), ...schools.map((s) => s.region)])];
  const count = new Map<string, number>();
  for (const s of schools) count.set(s.region, (count.get(s.region) ?? 0) + 1);
  const used = names.filter((n) => count.has(n));
  const centres = placeTownships(used, count, given);

  // Schools with their own position first (they are fixed), then the others into free slots.
  const placed: PlacedSchool[] = [];
  const byId = new Map<string, PlacedSchool>();
  for (const s of schools)
    if (s.map) {
      const p = { id: s.id, township: s.region, x: s.map.x, y: s.map.y };
      placed.push(p);
      byId.set(s.id, p);
    }
  const free = (x: number, y: number) => placed.every((p) => Math.hypot(p.x - x, p.y - y) >= MAP_GAP - 1e-9);
  for (const s of schools) {
    if (s.map) continue;
    const c = centres.get(s.region)!;
    for (const slot of slots(c.x, c.y)) {
      if (!free(slot.x, slot.y)) continue;
      const p = { id: s.id, township: s.region, x: round(slot.x), y: round(slot.y) };
      // Rounding may bring it a hair closer than the slot was: check again.
      if (!free(p.x, p.y)) continue;
      placed.push(p);
      byId.set(s.id, p);
      break;
    }
  }

  const placedTownships: PlacedTownship[] = used.map((name) => {
    const c = centres.get(name)!;
    const ids = schools.filter((s) => s.region === name).map((s) => s.id);
    let far = 0;
    for (const id of ids) {
      const p = byId.get(id)!;
      far = Math.max(far, Math.hypot(p.x - c.x, p.y - c.y));
    }
    const g = given.get(name);
    const t: PlacedTownship = { name, x: round(c.x), y: round(c.y), r: round(far + MARKER_R + AREA_PAD), schools: ids };
    if (g?.nameEn) t.nameEn = g.nameEn;
    return t;
  });

  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const t of placedTownships) {
    x0 = Math.min(x0, t.x - t.r);
    x1 = Math.max(x1, t.x + t.r);
    y0 = Math.min(y0, t.y - t.r - TOWNSHIP_LABEL);
    y1 = Math.max(y1, t.y + t.r);
  }
  for (const p of placed) {
    x0 = Math.min(x0, p.x - MARKER_R);
    x1 = Math.max(x1, p.x + MARKER_R);
    y0 = Math.min(y0, p.y - MARKER_R);
    y1 = Math.max(y1, p.y + MARKER_R);
  }
  const m = 1.5;
  const bounds = placed.length ? { x: round(x0 - m), y: round(y0 - m), w: round(x1 - x0 + 2 * m), h: round(y1 - y0 + 2 * m) } : { x: 0, y: 0, w: 100, h: 100 };
  // Registry order, as the tiles have it.
  const order = new Map(schools.map((s, i) => [s.id, i]));
  placed.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  return { townships: placedTownships, schools: placed, bounds };
}
