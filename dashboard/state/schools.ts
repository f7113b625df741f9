/**
 * The registry's slices: the schools with their figures, and their registry order. Both come from
 * the snapshot's `schools` (or GET /api/schools) and own no frame type: their device and
 * open-alarm figures follow other slices, by the cross-slice rules in index.ts.
 */
import type { Alarm, SchoolStatus, Snapshot } from '../../gateway/contract/api.js';
import { isOpen } from './alarms.js';
import type { Slice } from './slice.js';

/** By school id. */
export type SchoolsSlice = Record<string, SchoolStatus>;
/** Registry order of the schools (as the snapshot / GET /api/schools gives them). */
export type SchoolOrderSlice = string[];

export function schoolsFrom(list: SchoolStatus[]): SchoolsSlice {
  const out: SchoolsSlice = {};
  for (const s of list) out[s.id] = s;
  return out;
}

// A snapshot without schools keeps the ones we had (e.g. loaded over REST).
export const schoolsSlice: Slice<SchoolsSlice> = {
  frames: [],
  initial: () => ({}),
  load: (prev, snapshot: Partial<Snapshot>) => (snapshot.schools ? schoolsFrom(snapshot.schools) : prev),
  reduce: (slice) => slice,
};

export const schoolOrderSlice: Slice<SchoolOrderSlice> = {
  frames: [],
  initial: () => [],
  load: (prev, snapshot: Partial<Snapshot>) => (snapshot.schools ? snapshot.schools.map((s) => s.id) : prev),
  reduce: (slice) => slice,
};

/** Sets each school's open-alarm count from the open alarms (test presses do not count). */
export function withAlarmCounts(schools: SchoolsSlice, alarms: Record<string, Alarm>): SchoolsSlice {
  const counts: Record<string, number> = {};
  for (const a of Object.values(alarms)) if (!a.test && isOpen(a)) counts[a.school] = (counts[a.school] ?? 0) + 1;
  const out: SchoolsSlice = {};
  for (const [id, s] of Object.entries(schools)) {
    const n = counts[id] ?? 0;
    out[id] = s.openAlarms === n ? s : { ...s, openAlarms: n };
  }
  return out;
}

/** One of a school's devices came online or went offline: its online count moves by one, within 0..total. */
export function withDeviceFlip(schools: SchoolsSlice, schoolId: string, online: boolean): SchoolsSlice {
  const school = schools[schoolId];
  if (!school) return schools;
  const n = Math.min(school.devices.total, Math.max(0, school.devices.online + (online ? 1 : -1)));
  return { ...schools, [schoolId]: { ...school, devices: { ...school.devices, online: n } } };
}
