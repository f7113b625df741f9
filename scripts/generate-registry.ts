/**
 * Generates the demo county registry (config/county.json): 示范县, 84 schools and kindergartens
 * with their gates and guard posts, one-key alarm buttons, gate controllers, check-in terminals,
 * campus cameras and the places they cover, canteen (明厨亮灶) cameras, one NVR each and a canteen
 * terminal per canteen; each school its 统一社会信用代码 and canteens with their areas, each canteen
 * camera its canteen, area, NVR serial and channel, and GB/T 28181 id; the townships' places on the
 * wall's schematic county map. Seeded, so re-running gives the same file byte for byte.
 *
 *   npm run registry [-- out.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry, RegistryCanteen, RegistryDevice, RegistryGate, RegistrySchool } from '../gateway/contract/registry.js';
import { indexRegistry } from '../gateway/registry.js';
import { CANTEEN_AREAS, type CanteenArea } from '../gateway/contract/mqtt.js';
import { creditCodeCheckChar } from '../gateway/domain/credit-code.js';

/** mulberry32: tiny, seedable, good enough for plausible demo data. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(0x5eed2026);
// The contract §7 fields (area, boarders, gates, camera places, NVRs) draw from their own stream, so
// the older fields (students, device counts, addresses) and every id stay exactly as they were.
const rnd7 = prng(0x6a7e2026);
const int7 = (lo: number, hi: number) => lo + Math.floor(rnd7() * (hi - lo + 1));
// The contract §8 fields (canteens and their areas, credit codes, vendor references) draw from a
// third stream, so that every field generated before them stays exactly as it was.
const rnd8 = prng(0xca27ee08);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)];

const CN_DIGITS = ['', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
/** 1..99 as Chinese numerals (第十三, 第二十一). */
const cn = (n: number) => (n < 10 ? CN_DIGITS[n] : `${n >= 20 ? CN_DIGITS[Math.floor(n / 10)] : ''}十${CN_DIGITS[n % 10]}`);

type SchoolType = RegistrySchool['type'];
const TOWNS: readonly [string, string][] = [
  ['城关镇', 'Chengguan'], ['东关镇', 'Dongguan'], ['西河镇', 'Xihe'], ['南山镇', 'Nanshan'], ['北坪镇', 'Beiping'],
  ['青石镇', 'Qingshi'], ['柳林镇', 'Liulin'], ['白杨乡', 'Baiyang'], ['新安乡', "Xin'an"], ['石桥乡', 'Shiqiao'],
];
/**
 * Where the townships sit on the wall's schematic county map (0–100 grid, x east, y south): the
 * county seat 城关镇 in the middle with 东关镇 beside it, the others to the west and east, in a band
 * shaped like the wall's schools pane (about three times wider than tall). The wall places the
 * schools around their township's centre.
 */
const TOWNSHIP_MAP: Record<string, [number, number]> = {
  西河镇: [6, 41], 新安乡: [6, 59], 北坪镇: [20, 41], 南山镇: [20, 59], 城关镇: [40, 50],
  东关镇: [63, 50], 青石镇: [80, 41], 石桥乡: [80, 59], 柳林镇: [94, 41], 白杨乡: [94, 59],
};
const STREETS = ['文化路', '建设路', '人民路', '学府路', '育才路', '新华路', '解放路', '中心街'];

interface Plan { name: string; nameEn: string; type: SchoolType; region: string; students: [number, number] }
const plans: Plan[] = [];
const add = (name: string, nameEn: string, type: SchoolType, region: string, students: [number, number]) =>
  plans.push({ name: `示范县${name}`, nameEn: `Demo County ${nameEn}`, type, region, students });
// County-seat schools sit mostly in 城关镇, some in the adjoining 东关镇.
const seat = () => (rnd() < 0.75 ? '城关镇' : '东关镇');

for (let n = 1; n <= 3; n++) add(`第${cn(n)}中学`, `No. ${n} High School`, 'high', seat(), [2200, 3800]);
for (let n = 4; n <= 7; n++) add(`第${cn(n)}中学`, `No. ${n} Middle School`, 'middle', seat(), [1200, 2400]);
for (const [t, en] of TOWNS.slice(1, 9)) add(`${t}中学`, `${en} Middle School`, 'middle', t, [500, 1300]);
add('实验学校', 'Experimental School', 'nine_year', '城关镇', [1800, 2600]);
for (const [t, en] of TOWNS.slice(2)) add(`${t}九年一贯制学校`, `${en} Nine-Year School`, 'nine_year', t, [400, 1200]);
add('实验小学', 'Experimental Primary School', 'primary', '城关镇', [2000, 2800]);
for (let n = 1; n <= 14; n++) add(`第${cn(n)}小学`, `No. ${n} Primary School`, 'primary', seat(), [900, 2400]);
for (const [t, en] of TOWNS) add(`${t}中心小学`, `${en} Central Primary School`, 'primary', t, [500, 1400]);
for (const [t, en] of TOWNS.slice(1)) add(`${t}第二小学`, `${en} No. 2 Primary School`, 'primary', t, [150, 500]);
add('实验幼儿园', 'Experimental Kindergarten', 'kindergarten', '城关镇', [380, 520]);
for (let n = 1; n <= 13; n++) add(`第${cn(n)}幼儿园`, `No. ${n} Kindergarten`, 'kindergarten', seat(), [180, 450]);
for (const [t, en] of TOWNS) add(`${t}中心幼儿园`, `${en} Central Kindergarten`, 'kindergarten', t, [120, 300]);
add('职业技术学校', 'Vocational and Technical School', 'vocational', '城关镇', [1500, 2600]);
add('特殊教育学校', 'Special Education School', 'special', '城关镇', [60, 160]);

// Ids follow the bureau's roll: by township, then by stage (senior schools first).
const STAGE: SchoolType[] = ['high', 'vocational', 'middle', 'nine_year', 'primary', 'special', 'kindergarten'];
const townIdx = new Map(TOWNS.map(([t], i) => [t, i]));
plans.sort((a, b) => townIdx.get(a.region)! - townIdx.get(b.region)! || STAGE.indexOf(a.type) - STAGE.indexOf(b.type));

const GATES = [['正门', 'main gate'], ['侧门', 'side gate']] as const;
/** The gates' ids in the registry, and a third gate (东门) that some large schools have. */
const GATE_IDS = ['main', 'side', 'east'] as const;
const EAST_GATE = ['东门', 'east gate'] as const;

/**
 * City, town or countryside (contract §7 scope): 城关镇 is the county seat; the other 镇 seats are
 * towns, but their nine-year schools and second primary schools serve the villages around; a 乡 is
 * countryside. About 36% urban, 36% town, 29% rural.
 */
function areaOf(p: Plan): NonNullable<RegistrySchool['area']> {
  if (p.region === '城关镇') return 'urban';
  if (p.region.endsWith('乡')) return 'rural';
  return p.name.includes('九年一贯制') || p.name.includes('第二小学') ? 'rural' : 'town';
}

/** Students who board: senior, vocational and special schools many, town and village schools some, kindergartens none. */
function boardersOf(type: SchoolType, area: RegistrySchool['area'], students: number): number {
  const share =
    type === 'high' ? 0.4 + rnd7() * 0.3
    : type === 'vocational' ? 0.5 + rnd7() * 0.2
    : type === 'special' ? 0.3 + rnd7() * 0.2
    : type === 'middle' ? (area === 'urban' ? 0.1 + rnd7() * 0.15 : 0.3 + rnd7() * 0.3)
    : type === 'nine_year' ? (area === 'urban' ? 0.05 + rnd7() * 0.1 : 0.2 + rnd7() * 0.3)
    : type === 'primary' && area === 'rural' ? rnd7() * 0.15
    : 0;
  return Math.round(students * share);
}

/** What each campus camera looks at (GB/T 29315 places; `video_networked` requires the first four kinds). */
const CAMPUS_COVERS: Record<string, RegistryDevice['covers']> = {
  正门: ['gate_outside'], 侧门: ['gate_outside'], 门卫室: ['gatehouse', 'gate_inside'], 操场: ['gathering'],
  围墙东侧: ['perimeter'], 围墙西侧: ['perimeter'], 围墙南侧: ['perimeter'], 围墙北侧: ['perimeter'],
  教学楼一楼大厅: ['gathering'], 校园主干道: ['gathering'], 教学楼二楼走廊: ['corridor'], 教学楼三楼走廊: ['corridor'],
  办公楼大厅: ['gathering'], 停车场: ['other'], 实验楼走廊: ['corridor'], 图书馆: ['gathering'], 宿舍楼入口: ['dormitory_entrance'],
  宿舍楼走廊: ['corridor'], 体育馆: ['gathering'], 教学楼楼梯口: ['corridor'], 配电房: ['other'],
};
const CANTEEN_COVERS: Record<string, RegistryDevice['covers']> = {
  售餐窗口: ['other'], 就餐区: ['gathering'], 餐厅入口: ['canteen_entrance'], 餐厅出口: ['canteen_entrance'],
};
/**
 * Realistic failures for the `video_networked` target: in these schools a required place has no
 * camera (the 门卫室 camera was re-aimed at the playground; the main gate camera only sees inside; the
 * kindergarten's gatehouse camera shows the room but not the gate).
 */
const MISSING_PLACE: Record<string, { place: string; covers: NonNullable<RegistryDevice['covers']> }> = {
  S047: { place: '门卫室', covers: ['gate_inside'] },
  S064: { place: '正门', covers: ['gate_inside'] },
  S080: { place: '门卫室', covers: ['gatehouse'] },
};
const CAMPUS_PLACES: readonly [string, string][] = [
  ['正门', 'main gate'], ['门卫室', 'guard room'], ['操场', 'sports ground'], ['围墙东侧', 'east wall'], ['围墙西侧', 'west wall'],
  ['围墙南侧', 'south wall'], ['围墙北侧', 'north wall'], ['教学楼一楼大厅', 'teaching building lobby'], ['校园主干道', 'main campus road'],
  ['教学楼二楼走廊', 'teaching building 2F corridor'], ['教学楼三楼走廊', 'teaching building 3F corridor'], ['办公楼大厅', 'office building lobby'],
  ['停车场', 'car park'], ['实验楼走廊', 'laboratory building corridor'], ['图书馆', 'library'], ['宿舍楼入口', 'dormitory entrance'],
  ['宿舍楼走廊', 'dormitory corridor'], ['体育馆', 'gymnasium'], ['教学楼楼梯口', 'teaching building stairwell'], ['配电房', 'power room'],
];
const CANTEEN_PLACES: Record<'dining' | 'kitchen' | 'storage', readonly [string, string][]> = {
  kitchen: [['烹饪区', 'cooking area'], ['切配区', 'cutting and prep area'], ['粗加工区', 'rough processing area'], ['面点间', 'pastry room'],
    ['凉菜专间', 'cold dish room'], ['洗消间', 'dishwashing and disinfection room'], ['备餐间', 'meal prep room'], ['留样间', 'food sample room']],
  dining: [['售餐窗口', 'serving windows'], ['就餐区', 'dining area'], ['餐厅入口', 'dining hall entrance'], ['餐厅出口', 'dining hall exit']],
  storage: [['主食库', 'staple food store'], ['副食库', 'non-staple food store'], ['冷库', 'cold store'], ['调料库', 'seasoning store']],
};

/** The canteen area (contract §8) each canteen camera place watches. */
const CANTEEN_AREA_OF: Record<string, CanteenArea> = {
  烹饪区: 'processing', 切配区: 'processing', 粗加工区: 'processing', 面点间: 'processing', 凉菜专间: 'special_room',
  洗消间: 'washing', 备餐间: 'serving', 留样间: 'sample', 售餐窗口: 'serving', 就餐区: 'dining', 餐厅入口: 'dining', 餐厅出口: 'dining',
  主食库: 'storage', 副食库: 'storage', 冷库: 'storage', 调料库: 'storage',
};
/**
 * A kindergarten's (and the special school's) small kitchen: no separate 洗消间 or 留样间 unless a
 * camera watches one (otherwise tableware is washed and samples kept in the processing room).
 */
const SMALL_KITCHEN_AREAS: CanteenArea[] = ['processing', 'special_room', 'serving', 'storage', 'dining'];
/** Schools whose students eat in two canteens (第一食堂, 第二食堂): the largest boarding schools. */
const TWO_CANTEENS = new Set(['S002', 'S031']);
/** The demo county's administrative division code (GB/T 2260 shape; fictional). */
const DIVISION = '150199';
const CODE_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
/** GB 11714 organisation code: 8 characters and a check (weights 3 7 9 10 5 8 4 2, mod 11; 10 → X). */
function orgCode(): string {
  const body = Array.from({ length: 8 }, () => String(Math.floor(rnd8() * 10))).join('');
  const W = [3, 7, 9, 10, 5, 8, 4, 2];
  const c = 11 - ([...body].reduce((n, ch, i) => n + Number(ch) * W[i], 0) % 11);
  return body + (c === 10 ? 'X' : c === 11 ? '0' : String(c));
}
const usedCodes = new Set<string>();
/** A public school is a 事业单位 registered by 机构编制 (`12`); a private kindergarten a 民办非企业单位 (`52`). */
function creditCodeFor(isPrivate: boolean): string {
  for (;;) {
    const first17 = `${isPrivate ? '52' : '12'}${DIVISION}${orgCode()}`;
    const code = first17 + creditCodeCheckChar(first17)!;
    if (!usedCodes.has(code)) return usedCodes.add(code), code;
  }
}
/** A Dahua-style NVR serial: 15 capital letters and digits. */
const nvrSerial = () => Array.from({ length: 15 }, () => CODE_CHARS[Math.floor(rnd8() * CODE_CHARS.length)]).join('');
/** GB/T 28181 camera id: centre (division + 2), industry 11 (教育), type 131 (camera), network 7, serial 6. */
const gbId = (n: number) => `${DIVISION}00111317${String(n).padStart(6, '0')}`;
let gbSerial = 0;

// Canteen cameras: the county's 明厨亮灶 roll-out has about 1,425 of them. Kindergartens have small
// kitchens; the rest scale with students and are then fitted to the total by largest remainder.
const CANTEEN_TOTAL = 1425;
const students = plans.map((p) => int(...p.students));
const isKg = plans.map((p) => p.type === 'kindergarten' || p.type === 'special');
const kgCanteen = students.map((s, i) => (isKg[i] ? Math.round(5 + s / 100 + rnd() * 2) : 0));
const weight = students.map((s, i) => (isKg[i] ? 0 : 8 + s / 150 + rnd() * 4));
const left = CANTEEN_TOTAL - kgCanteen.reduce((a, b) => a + b, 0);
const wsum = weight.reduce((a, b) => a + b, 0);
const exact = weight.map((w) => (w * left) / wsum);
const canteen = exact.map((x, i) => (isKg[i] ? kgCanteen[i] : Math.floor(x)));
const short = CANTEEN_TOTAL - canteen.reduce((a, b) => a + b, 0);
exact.map((x, i) => ({ i, frac: x - Math.floor(x) })).filter(({ i }) => !isKg[i])
  .sort((a, b) => b.frac - a.frac || a.i - b.i).slice(0, short).forEach(({ i }) => canteen[i]++);

const pad = (n: number) => String(n).padStart(2, '0');
let kgOrdinal = 0;
const schools: RegistrySchool[] = plans.map((p, i) => {
  const id = `S${String(i + 1).padStart(3, '0')}`;
  const s = students[i];
  const gates = s >= 900 ? 2 : 1;
  const area = areaOf(p);
  const east = s >= 2200 && rnd7() < 0.5; // a third gate (东门) at some large schools
  const schoolGates: RegistryGate[] = [
    ...GATES.slice(0, gates).map(([g, en], k): RegistryGate => ({
      id: GATE_IDS[k], name: g, nameEn: en[0].toUpperCase() + en.slice(1),
      posts: k === 0 && s >= 900 ? ['main-1', 'main-2'] : [`${GATE_IDS[k]}-1`],
    })),
    ...(east ? [{ id: 'east', name: EAST_GATE[0], nameEn: 'East gate', posts: ['east-1'] }] : []),
  ];
  const devices: RegistryDevice[] = [];
  const dev = (suffix: string, kind: RegistryDevice['kind'], name: string, nameEn: string, place: string, zone?: RegistryDevice['zone'], extra: Partial<RegistryDevice> = {}) =>
    devices.push({ id: `${id}-${suffix}`, kind, name, nameEn, place, ...(zone ? { zone } : {}), ...extra });

  // One-key alarms: one per gate guard booth, one in the duty room, a foot pedal at the main booth of large schools.
  let ab = 0;
  for (const [g, en] of GATES.slice(0, gates)) dev(`AB${pad(++ab)}`, 'alarm_button', `${g}岗亭一键报警按钮`, `One-key alarm button, ${en} guard booth`, `校门岗亭（${g}）`);
  dev(`AB${pad(++ab)}`, 'alarm_button', '值班室一键报警按钮', 'One-key alarm button, duty room', '值班室');
  if (s >= 1800) dev(`AB${pad(++ab)}`, 'alarm_button', '正门岗亭脚踏报警', 'Foot alarm pedal, main gate guard booth', '校门岗亭（正门）');
  GATES.slice(0, gates).forEach(([g, en], k) => dev(`GATE${k + 1}`, 'gate', `${g}门禁道闸`, `Access gate, ${en}`, g, undefined, { gate: GATE_IDS[k] }));
  GATES.slice(0, gates).forEach(([g, en], k) =>
    dev(`CHK${k + 1}`, 'checkin_terminal', `${g}护学岗签到终端`, `Duty check-in terminal, ${en}`, `${g}护学岗`, undefined, { post: schoolGates[k].posts[0] }));

  const campusPlaces = gates === 2 ? [CAMPUS_PLACES[0], ['侧门', 'side gate'] as [string, string], ...CAMPUS_PLACES.slice(1)] : CAMPUS_PLACES;
  const campus = Math.min(20, Math.max(6, Math.round(6 + s / 200 + rnd() * 2 - 1)));
  for (let k = 0; k < campus; k++) {
    const [pl, en] = campusPlaces[k];
    const covers = MISSING_PLACE[id]?.place === pl ? MISSING_PLACE[id].covers : CAMPUS_COVERS[pl];
    dev(`CAM${pad(k + 1)}`, 'camera', `${pl}摄像机`, `Camera, ${en}`, pl, 'campus', { covers });
  }

  const n = canteen[i];
  const storage = Math.max(1, Math.round(n * 0.15));
  const dining = Math.max(1, Math.round(n * 0.3));
  // Contract §8: the school's canteens; each canteen camera names its canteen, area, and where the
  // canteen's own NVR (one per canteen, 64 channels) and the GB/T 28181 platform know it.
  const small = isKg[i];
  const canteens: RegistryCanteen[] = TWO_CANTEENS.has(id)
    ? [{ id: 'c1', name: '第一食堂', nameEn: 'Canteen No. 1', areas: [...CANTEEN_AREAS] }, { id: 'c2', name: '第二食堂', nameEn: 'Canteen No. 2', areas: [...CANTEEN_AREAS] }]
    : [{ id: 'main', name: small ? '幼儿园厨房' : '学生食堂', nameEn: small ? 'Kitchen' : "Students' canteen", areas: small ? [...SMALL_KITCHEN_AREAS] : [...CANTEEN_AREAS] }];
  const serials = canteens.map(() => nvrSerial());
  const channels = canteens.map(() => 0);
  /** A big school's second canteen has the second, fourth… camera of each place. */
  const canteenFor = (pos: number) => (canteens.length === 2 && pos % 2 === 0 ? 1 : 0);
  let kc = 0;
  for (const [zone, count] of [['kitchen', n - storage - dining], ['dining', dining], ['storage', storage]] as const) {
    const places = CANTEEN_PLACES[zone];
    for (let k = 0; k < count; k++) {
      const [pl, en] = places[k % places.length];
      const pos = Math.floor(k / places.length) + 1; // a big kitchen has several cameras on one area
      const place = `食堂${pl}${pos > 1 ? `（${pos}号位）` : ''}`;
      const covers = zone === 'kitchen' ? (['canteen_kitchen'] as const) : zone === 'storage' ? (['other'] as const) : CANTEEN_COVERS[pl];
      const c = canteenFor(pos);
      dev(`KC${pad(++kc)}`, 'camera', `${place}摄像机`, `Canteen camera, ${en}${pos > 1 ? ` (position ${pos})` : ''}`, place, zone, {
        covers: [...covers!], canteen: canteens[c].id, area: CANTEEN_AREA_OF[pl],
        vendorRef: { nvrSerial: serials[c], channel: ++channels[c] }, gb28181Id: gbId(++gbSerial),
      });
    }
  }

  // A small kitchen that does have a camera on a 洗消间 or 留样间 has that room.
  for (const c of canteens) {
    const watched = new Set(devices.filter((d) => d.canteen === c.id).map((d) => d.area!));
    c.areas = CANTEEN_AREAS.filter((a) => c.areas.includes(a) || watched.has(a));
  }

  // Contract §7 devices, after the older ones so their positions stay: the east gate's controller
  // and terminal, the gatehouse's check-in terminal, the school's NVR (its police and county uplinks).
  if (east) {
    dev(`GATE3`, 'gate', `${EAST_GATE[0]}门禁道闸`, `Access gate, ${EAST_GATE[1]}`, EAST_GATE[0], undefined, { gate: 'east' });
    dev(`CHK3`, 'checkin_terminal', `${EAST_GATE[0]}护学岗签到终端`, `Duty check-in terminal, ${EAST_GATE[1]}`, `${EAST_GATE[0]}护学岗`, undefined, { post: 'east-1' });
  }
  dev('CHKGH', 'checkin_terminal', '门卫室值守签到终端', 'Duty check-in terminal, gatehouse', '门卫室', undefined, { post: 'gatehouse' });
  dev('NVR01', 'nvr', '视频监控硬盘录像机', 'Network video recorder', '监控室');
  // Contract §8's canteen terminal, last so every earlier position stays: one per canteen, the
  // food-safety officer's (its records over MQTT, its school's case notifications), in the 留样间.
  canteens.forEach((c, k) => {
    const two = canteens.length > 1;
    dev(`CT${k + 1}`, 'canteen_terminal', `${two ? c.name : '食堂'}管理终端`, `Canteen terminal${two ? `, ${c.nameEn}` : ''}`,
      two ? `${c.name}留样间` : small ? c.name : '食堂留样间');
  });

  return {
    id, name: p.name, nameEn: p.nameEn, type: p.type, students: s, boarders: boardersOf(p.type, area, s), area, gates: schoolGates, region: p.region,
    // Every fifth kindergarten is private (民办).
    creditCode: creditCodeFor(p.type === 'kindergarten' && kgOrdinal++ % 5 === 4), canteens,
    address: `示范县${p.region}${pick(STREETS)}${int(1, 188)}号`,
    devices,
  };
});

const registry: Registry = {
  version: 1,
  county: {
    id: 'demo-county', name: '示范县', nameEn: 'Demo County', region: '示范市',
    townships: TOWNS.map(([name, nameEn]) => ({ name, nameEn, x: TOWNSHIP_MAP[name][0], y: TOWNSHIP_MAP[name][1] })),
  },
  defaults: { heartbeatIntervalSec: { alarm_button: 30, camera: 60, gate: 60, checkin_terminal: 60, nvr: 60, canteen_terminal: 60 } },
  schools,
};

const out = process.argv[2] ?? fileURLToPath(new URL('../config/county.json', import.meta.url));
const index = indexRegistry(registry, out); // refuse to write a file the gateway would refuse

// One device (and township) per line: the file stays readable and diffs stay small.
const devLines: string[] = [];
const text = JSON.stringify(registry, (key, value) =>
  key === 'devices' || key === 'townships' ? (value as object[]).map((d) => `@@${devLines.push(JSON.stringify(d)) - 1}@@`) : value, 2,
).replace(/"@@(\d+)@@"/g, (_, k: string) => devLines[Number(k)]);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${text}\n`);

const count = (f: (d: RegistryDevice) => boolean) => [...index.devices.values()].filter(f).length;
const byType = STAGE.map((t) => `${t} ${schools.filter((s) => s.type === t).length}`).join(', ');
console.log(`wrote ${relative(process.cwd(), out)}: ${schools.length} schools (${byType}), ${index.devices.size} devices`);
console.log(`  alarm_button ${count((d) => d.kind === 'alarm_button')}, gate ${count((d) => d.kind === 'gate')}, checkin_terminal ${count((d) => d.kind === 'checkin_terminal')}, nvr ${count((d) => d.kind === 'nvr')}, canteen_terminal ${count((d) => d.kind === 'canteen_terminal')}`);
console.log(`  areas ${(['urban', 'town', 'rural'] as const).map((a) => `${a} ${schools.filter((s) => s.area === a).length}`).join(', ')}; boarders ${schools.reduce((n, s) => n + (s.boarders ?? 0), 0)}; gates ${schools.reduce((n, s) => n + (s.gates?.length ?? 0), 0)}`);
console.log(`  camera campus ${count((d) => d.zone === 'campus')}, canteen ${count((d) => d.kind === 'camera' && d.zone !== 'campus')} (dining ${count((d) => d.zone === 'dining')}, kitchen ${count((d) => d.zone === 'kitchen')}, storage ${count((d) => d.zone === 'storage')})`);
