/**
 * A province-sized registry for the scale case: `devices` devices (default 200,000) in schools of
 * 40 — 4 one-key alarm buttons and 36 cameras (campus and the canteen zones) — in the shape of
 * config/county.json (schema: gateway/contract/registry.ts). Deterministic.
 *
 *   node --import tsx scripts/bench/province-registry.ts [devices] [out.json]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry, RegistryDevice, RegistrySchool } from '../../gateway/contract/registry.js';

const PER_SCHOOL = 40;
const BUTTONS = 4;
const TYPES: RegistrySchool['type'][] = ['primary', 'primary', 'middle', 'high', 'nine_year', 'kindergarten', 'vocational'];
const CANTEEN: NonNullable<RegistryDevice['zone']>[] = ['dining', 'dining', 'kitchen', 'kitchen', 'kitchen', 'storage'];

/** `buttonIntervalSec`: the alarm buttons' heartbeat (cameras beat every 60 s); the million case has every device at 60 s. */
export function provinceRegistry(devices: number, buttonIntervalSec = 30): Registry {
  const schools: RegistrySchool[] = [];
  const count = Math.ceil(devices / PER_SCHOOL);
  for (let s = 0; s < count; s++) {
    const id = `P${String(s + 1).padStart(6, '0')}`;
    const county = Math.floor(s / 80) + 1; // ~80 schools per county, as in the demo county
    const n = Math.min(PER_SCHOOL, devices - s * PER_SCHOOL);
    const list: RegistryDevice[] = [];
    for (let d = 0; d < n; d++) {
      if (d < BUTTONS) {
        list.push({ id: `${id}-AB${String(d + 1).padStart(2, '0')}`, kind: 'alarm_button', name: `一键报警按钮 ${d + 1}`, nameEn: `One-key alarm button ${d + 1}`, place: d === 0 ? '校门岗亭' : '值班室' });
      } else {
        const c = d - BUTTONS;
        const zone = c < CANTEEN.length ? CANTEEN[c] : 'campus';
        list.push({ id: `${id}-CAM${String(c + 1).padStart(2, '0')}`, kind: 'camera', name: `摄像机 ${c + 1}`, nameEn: `Camera ${c + 1}`, zone });
      }
    }
    schools.push({
      id,
      name: `第${county}县 第${(s % 80) + 1}学校`,
      nameEn: `County ${county} School ${(s % 80) + 1}`,
      type: TYPES[s % TYPES.length],
      students: 300 + ((s * 7919) % 2700),
      region: `县${county}`,
      devices: list,
    });
  }
  return {
    version: 1,
    county: { id: 'bench-province', name: '基准省', nameEn: 'Bench Province', region: '基准省' },
    defaults: { heartbeatIntervalSec: { alarm_button: buttonIntervalSec, camera: 60, gate: 60, checkin_terminal: 60 } },
    schools,
  };
}

export function writeProvinceRegistry(devices: number, file: string, buttonIntervalSec?: number): void {
  writeFileSync(file, JSON.stringify(provinceRegistry(devices, buttonIntervalSec)));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const devices = Number(process.argv[2] ?? 200_000);
  const out = process.argv[3] ?? 'province.json';
  writeProvinceRegistry(devices, out);
  console.log(`${out}: ${devices} devices`);
}
