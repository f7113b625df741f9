/**
 * Which cameras a one-key alarm takes pictures from (报警联动: "that place's cameras"), pure.
 *
 * 1. The button's `linkedCameras` in the registry, in order: the installer knows which cameras
 *    see the button, so nothing is guessed (a linked camera with no picture source still gets its
 *    line in the evidence, saying so: the registry needs fixing).
 * 2. Else the school's cameras at the place: a camera whose `place` is the press's own `zone` (a
 *    button reporting which room) or the button's `place`, word for word.
 * 3. Then, to fill up, the school's campus cameras (canteen cameras never: they watch kitchens)
 *    ranked by what they cover: the gatehouse first, then the gate from inside, then from outside
 *    (a one-key button stands at the gatehouse, GB/T 29315; an intruder comes through the gate),
 *    then the rest in registry order.
 * At most MAX_ALARM_CAMERAS: each picture is a fetch from the school's network while an incident
 * is under way, and a pop-up shows four pictures, not twenty. In 2 and 3 only cameras with a
 * picture source (`onvif` or `snapshotUrl`) are chosen.
 */
import type { AlarmSnapshot } from '../../contract/api.js';
import { iso } from '../../contract/common.js';
import type { RegistryDevice } from '../../registry.js';

export const MAX_ALARM_CAMERAS = 4;

/** Why a camera was chosen, kept with its picture so the console can say it. */
export type PickedBy = 'linked' | 'place' | 'campus';

export interface PickedCamera {
  camera: string;
  by: PickedBy;
}

const COVER_RANK: Readonly<Record<string, number>> = { gatehouse: 0, gate_inside: 1, gate_outside: 2 };
const rank = (d: RegistryDevice) => Math.min(...(d.covers ?? []).map((c) => COVER_RANK[c] ?? 3), 3);

export const hasPictureSource = (d: RegistryDevice) => Boolean(d.onvif || d.snapshotUrl);

/**
 * `button`: the pressing device; `schoolDevices`: every device of its school in registry order;
 * `alarmZone`: the press's own `zone`, if it named one.
 */
export function camerasForAlarm(button: Pick<RegistryDevice, 'linkedCameras' | 'place'>, schoolDevices: readonly RegistryDevice[], alarmZone?: string, max = MAX_ALARM_CAMERAS): PickedCamera[] {
  if (button.linkedCameras?.length) return [...new Set(button.linkedCameras)].slice(0, max).map((camera) => ({ camera, by: 'linked' }));
  const cameras = schoolDevices.filter((d) => d.kind === 'camera' && hasPictureSource(d));
  const places = new Set([alarmZone, button.place].filter((p): p is string => Boolean(p?.trim())));
  const out: PickedCamera[] = cameras.filter((d) => d.place !== undefined && places.has(d.place)).map((d) => ({ camera: d.id, by: 'place' }));
  const taken = new Set(out.map((p) => p.camera));
  const campus = cameras
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => d.zone === 'campus' && !taken.has(d.id))
    .sort((a, b) => rank(a.d) - rank(b.d) || a.i - b.i);
  for (const { d } of campus) out.push({ camera: d.id, by: 'campus' });
  return out.slice(0, max);
}

/** Why a linked camera gives no picture (the registry must say where to get one). */
export const NO_PICTURE_SOURCE = 'no picture source: the registry gives this camera neither an onvif address nor a snapshotUrl';

/** The alarm's pictures as planned at the raise: `pending`, or `failed` at once for a camera with no source. */
export function snapshotPlan(picked: readonly PickedCamera[], devices: ReadonlyMap<string, RegistryDevice>, atMs: number): AlarmSnapshot[] {
  return picked.map(({ camera, by }) => {
    const d = devices.get(camera)!;
    const names = { camera, cameraName: d.name, ...(d.nameEn ? { cameraNameEn: d.nameEn } : {}), by };
    return hasPictureSource(d) ? { ...names, state: 'pending' } : { ...names, state: 'failed', error: NO_PICTURE_SOURCE, at: iso(atMs) };
  });
}
