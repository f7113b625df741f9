/**
 * What the county map shows (pure): each school's marker state from its figures, which townships
 * have a school in alarm, and which list/map view the schools pane starts in.
 */
import type { SchoolStatus } from '../../gateway/contract/api.js';
import { layoutCounty, type LayoutTownship, type MapLayout } from './map-layout.js';

/** Worst first: an open alarm outranks devices offline. Each state has its own shape and colour (never colour alone). */
export type MarkerState = 'alarm' | 'offline' | 'normal';
export const MARKER_STATES: readonly MarkerState[] = ['alarm', 'offline', 'normal'];

export interface MapMarker {
  id: string;
  x: number;
  y: number;
  state: MarkerState;
  openAlarms: number;
  devicesOnline: number;
  devicesTotal: number;
  /** A school with an alarm carries its name on the map (the others on hover or focus). */
  labelled: boolean;
}
export interface MapTownship {
  name: string;
  nameEn?: string;
  x: number;
  y: number;
  r: number;
  /** Schools of it in alarm, and with devices offline. */
  alarms: number;
  offline: number;
}
export interface CountyMapModel {
  townships: MapTownship[];
  markers: MapMarker[];
  bounds: MapLayout['bounds'];
  /** Schools per state, for the legend. */
  counts: Record<MarkerState, number>;
}

export function markerState(s: SchoolStatus): MarkerState {
  if (s.openAlarms > 0) return 'alarm';
  if (s.devices.online < s.devices.total) return 'offline';
  return 'normal';
}

/** The layout of the schools in registry order (recompute only when the order or the townships change). */
export function layoutFor(schools: Record<string, SchoolStatus>, order: readonly string[], townships?: readonly LayoutTownship[]): MapLayout {
  const list = order.map((id) => schools[id]).filter(Boolean).map((s) => ({ id: s.id, region: s.region, ...(s.map ? { map: { x: s.map.x, y: s.map.y } } : {}) }));
  return layoutCounty(list, townships ?? []);
}

/** The layout with the schools' current states. A school the layout has but the figures lack is left out. */
export function countyMap(layout: MapLayout, schools: Record<string, SchoolStatus>): CountyMapModel {
  const counts: Record<MarkerState, number> = { alarm: 0, offline: 0, normal: 0 };
  const markers: MapMarker[] = [];
  const byTownship = new Map<string, { alarms: number; offline: number }>();
  for (const p of layout.schools) {
    const s = schools[p.id];
    if (!s) continue;
    const state = markerState(s);
    counts[state]++;
    const t = byTownship.get(p.township) ?? { alarms: 0, offline: 0 };
    if (state === 'alarm') t.alarms++;
    if (s.devices.online < s.devices.total) t.offline++;
    byTownship.set(p.township, t);
    markers.push({ id: p.id, x: p.x, y: p.y, state, openAlarms: s.openAlarms, devicesOnline: s.devices.online, devicesTotal: s.devices.total, labelled: state === 'alarm' });
  }
  const townships = layout.townships.map((t) => ({ name: t.name, ...(t.nameEn ? { nameEn: t.nameEn } : {}), x: t.x, y: t.y, r: t.r, alarms: byTownship.get(t.name)?.alarms ?? 0, offline: byTownship.get(t.name)?.offline ?? 0 }));
  return { townships, markers, bounds: layout.bounds, counts };
}

export type SchoolsMode = 'map' | 'list';
/** Where the wall remembers the operator's choice. */
export const SCHOOLS_MODE_KEY = 'wall.schoolsView';
/** The map needs room: it is the default on a 1920-wide wall and up, the tiles below (an operator's laptop). */
export const MAP_DEFAULT_MIN_WIDTH = 1920;

export function initialSchoolsMode(stored: string | null | undefined, viewportWidth: number): SchoolsMode {
  if (stored === 'map' || stored === 'list') return stored;
  return viewportWidth >= MAP_DEFAULT_MIN_WIDTH ? 'map' : 'list';
}
