/**
 * A failed canteen inspection opens a case (contract §8: "a case opens from … a failed
 * inspection"), pure. The targets module records every inspection (`POST /api/inspections`); this
 * decides, from the same `inspection` event, whether the canteen has a case to open: a canteen item
 * (`CANTEEN_INSPECTION_ITEMS`) with `result: "fail"`. A pass opens nothing, and a campus item
 * (perimeter, barrier…) is the targets module's alone.
 */
import { CANTEEN_INSPECTION_NAMES, isCanteenInspectionItem } from '../../contract/canteen.js';
import type { OpenInput } from './cases.js';

export interface InspectionFact {
  id: string;
  school: string;
  item: string;
  result: 'pass' | 'fail';
  atMs: number;
  /** sha256 of the inspection's photo: the case's snapshot. */
  photo?: string;
  note?: string;
  /** The inspector (the user who recorded it). */
  by: string;
}

/**
 * The case a failed canteen inspection opens, or null. `canteens` are the school's canteens in the
 * registry: the case names the canteen when the school has exactly one (an inspection names no canteen).
 */
export function caseFromInspection(i: InspectionFact, canteens: readonly string[], deadlineHours: number): (OpenInput & { item: string; inspection: string }) | null {
  if (i.result !== 'fail' || !isCanteenInspectionItem(i.item) || canteens.length === 0) return null;
  const name = CANTEEN_INSPECTION_NAMES[i.item];
  const note = i.note?.trim();
  return {
    // One case per inspection: the inspection id is unique, so a redelivery cannot open two.
    id: `insp-case-${i.id.replace(/^insp-/, '')}`,
    school: i.school,
    ...(canteens.length === 1 ? { canteen: canteens[0] } : {}),
    source: 'inspection',
    item: i.item,
    inspection: i.id,
    reason: { zh: `检查不合格：${name.zh}${note ? `（${note}）` : ''}`, en: `failed inspection: ${name.en}${note ? ` (${note})` : ''}` },
    atMs: i.atMs,
    deadlineHours,
    by: i.by,
    ...(i.photo ? { snapshot: i.photo } : {}),
    ...(note ? { note } : {}),
  };
}
