/**
 * Loads and indexes the school/device registry (config/county.json). Everything that can be wrong
 * with it is found here, at start, and reported as one ConfigError naming the file and the JSON
 * pointer of the fault; the rest of the gateway can then trust the index without re-checking.
 */
import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ConfigError } from './config-error.js';
import { jsonErrorPlace } from './config/json-file.js';
import { ID_PATTERN } from './contract/common.js';
import { GATEHOUSE_POST, MAP_MIN_SCHOOL_GAP, Registry, type RegistryDevice, type RegistrySchool } from './contract/registry.js';
import { CAMERA_ZONES, CANTEEN_ZONES } from './contract/mqtt.js';
import { creditCodeProblem } from './domain/credit-code.js';

export type { Registry, RegistryDevice, RegistrySchool } from './contract/registry.js';
export { ConfigError } from './config-error.js';

export type IndexedDevice = RegistryDevice & { school: string };

export interface RegistryIndex {
  /**
   * The registry as loaded. Its devices are the index's own entries, so each also carries `school`.
   * Index the file again, not this tree: the schema refuses the extra field.
   */
  registry: Registry;
  /** Where it came from (file path), for messages. */
  source: string;
  schools: Map<string, RegistrySchool>;
  devices: Map<string, IndexedDevice>;
  /** The device's own interval, else its kind's default. Throws for an unknown device id. */
  heartbeatIntervalSec(deviceId: string): number;
  /**
   * The school's posts (contract §7): every post of its gates, and `gatehouse`. An unknown school
   * has none. Do not change the set: schools without gates share one.
   */
  posts(schoolId: string): ReadonlySet<string>;
  /** The school whose 统一社会信用代码 this is (a vendor push names schools so), or undefined. */
  schoolByCreditCode(code: string): RegistrySchool | undefined;
  /** The camera a vendor's platform calls (NVR serial, channel), or undefined. */
  cameraByVendorRef(nvrSerial: string, channel: number): IndexedDevice | undefined;
  /** The camera with this GB/T 28181 id, or undefined. */
  cameraByGb28181Id(id: string): IndexedDevice | undefined;
}

/** The posts of a school that registers no gates: only its gatehouse. */
const GATEHOUSE_ONLY: ReadonlySet<string> = new Set([GATEHOUSE_POST]);
const NO_POSTS: ReadonlySet<string> = new Set();

const checker = TypeCompiler.Compile(Registry);
/** An NVR's heartbeat when the registry gives none: GB/T 28181's keepalive interval. */
const NVR_HEARTBEAT_SEC = 60;

/** A device's heartbeat interval: its own, else its kind's default. */
export const heartbeatSec = (registry: Registry, d: RegistryDevice): number => d.heartbeatIntervalSec ?? registry.defaults.heartbeatIntervalSec[d.kind] ?? NVR_HEARTBEAT_SEC;

/** Reads, parses, validates and indexes a registry file. Throws ConfigError on any fault. */
export function loadRegistry(path: string): RegistryIndex {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(path, '(file)', `cannot read the registry file (${e.code ?? e.message})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // editors on Windows add a BOM
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, jsonErrorPlace(text, err as Error), `invalid JSON: ${(err as Error).message}`);
  }
  return indexRegistry(data as Registry, path);
}

/** Validates an already parsed registry (typed, but checked anyway: it may come from anywhere) and indexes it. */
export function indexRegistry(registry: Registry, source: string): RegistryIndex {
  if (!checker.Check(registry)) {
    const first = checker.Errors(registry).First()!;
    throw new ConfigError(source, first.path || '(root)', describe(first));
  }

  const schools = new Map<string, RegistrySchool>();
  const devices = new Map<string, IndexedDevice>();
  const schoolAt = new Map<string, string>();
  const deviceAt = new Map<string, string>();
  const posts = new Map<string, ReadonlySet<string>>();
  // Vendor lookups (contract §8): only for the schools and cameras that carry the field, so a
  // registry without them (the 200,000-device scale bench) pays nothing. Values are the pointers
  // first seen, for duplicate messages; the devices are looked up again by id.
  const byCreditCode = new Map<string, string>();
  const creditCodeAt = new Map<string, string>();
  const byVendorRef = new Map<string, string>();
  const vendorRefAt = new Map<string, string>();
  const byGb = new Map<string, string>();
  const gbAt = new Map<string, string>();
  registry.schools.forEach((school, i) => {
    const at = `/schools/${i}`;
    // `_gateway` is the gateway's own topic segment (campus/v1/_gateway/status); a school there would collide.
    if (school.id.startsWith('_')) throw new ConfigError(source, `${at}/id`, `school id "${school.id}" must not start with "_" (reserved for gateway topics)`);
    const prev = schoolAt.get(school.id);
    if (prev) throw new ConfigError(source, `${at}/id`, `duplicate school id "${school.id}" (already used at ${prev})`);
    schoolAt.set(school.id, `${at}/id`);
    schools.set(school.id, school);

    // Gates and their posts: ids unique within the school; `gatehouse` is every school's own post.
    const gateAt = new Map<string, string>();
    const postAt = new Map<string, string>();
    school.gates?.forEach((gate, g) => {
      const gat = `${at}/gates/${g}`;
      const prevGate = gateAt.get(gate.id);
      if (prevGate) throw new ConfigError(source, `${gat}/id`, `duplicate gate id "${gate.id}" in school "${school.id}" (already used at ${prevGate})`);
      gateAt.set(gate.id, `${gat}/id`);
      gate.posts.forEach((post, k) => {
        const pat = `${gat}/posts/${k}`;
        if (post === GATEHOUSE_POST)
          throw new ConfigError(source, pat, `post id "${GATEHOUSE_POST}" is reserved for the school's gatehouse (门卫室), which every school has; name a gate's post otherwise (e.g. "${gate.id}-1")`);
        const prevPost = postAt.get(post);
        if (prevPost) throw new ConfigError(source, pat, `duplicate post id "${post}" in school "${school.id}" (already used at ${prevPost}); post ids must be unique within a school`);
        postAt.set(post, pat);
      });
    });
    if (postAt.size > 0) posts.set(school.id, new Set([...postAt.keys(), GATEHOUSE_POST]));

    if (school.creditCode !== undefined) {
      const problem = creditCodeProblem(school.creditCode);
      if (problem) throw new ConfigError(source, `${at}/creditCode`, problem);
      const prevCode = creditCodeAt.get(school.creditCode);
      if (prevCode)
        throw new ConfigError(source, `${at}/creditCode`, `duplicate 统一社会信用代码 "${school.creditCode}" (already used at ${prevCode}); a credit code names one school`);
      creditCodeAt.set(school.creditCode, `${at}/creditCode`);
      byCreditCode.set(school.creditCode, school.id);
    }

    // Canteens and their areas (contract §8): ids unique within the school, no area twice.
    const canteenAreas = new Map<string, ReadonlySet<string>>();
    const canteenAt = new Map<string, string>();
    school.canteens?.forEach((c, k) => {
      const cat = `${at}/canteens/${k}`;
      const prevCanteen = canteenAt.get(c.id);
      if (prevCanteen) throw new ConfigError(source, `${cat}/id`, `duplicate canteen id "${c.id}" in school "${school.id}" (already used at ${prevCanteen})`);
      canteenAt.set(c.id, `${cat}/id`);
      const seen = new Map<string, number>();
      c.areas.forEach((a, m) => {
        if (seen.has(a)) throw new ConfigError(source, `${cat}/areas/${m}`, `canteen "${c.id}" lists area "${a}" twice (already at ${cat}/areas/${seen.get(a)})`);
        seen.set(a, m);
      });
      canteenAreas.set(c.id, new Set(c.areas));
    });

    school.devices.forEach((device, j) => {
      const dat = `${at}/devices/${j}`;
      const prevDevice = deviceAt.get(device.id);
      if (prevDevice)
        throw new ConfigError(source, `${dat}/id`, `duplicate device id "${device.id}" (already used at ${prevDevice}); device ids must be unique across the county`);
      if (device.kind === 'camera' && device.zone === undefined)
        throw new ConfigError(source, `${dat}/zone`, `camera "${device.id}" has no zone (one of ${CAMERA_ZONES.join(', ')})`);
      if (device.kind !== 'camera' && device.zone !== undefined)
        throw new ConfigError(source, `${dat}/zone`, `only a camera has a zone, but "${device.id}" is of kind ${device.kind}`);
      if (device.gate !== undefined) {
        if (device.kind !== 'gate')
          throw new ConfigError(source, `${dat}/gate`, `only a gate controller names a gate, but "${device.id}" is of kind ${device.kind}`);
        if (!gateAt.has(device.gate))
          throw new ConfigError(source, `${dat}/gate`, `gate controller "${device.id}" names gate "${device.gate}", which school "${school.id}" does not have (${gateAt.size ? `its gates: ${[...gateAt.keys()].join(', ')}` : 'it registers no gates'})`);
      }
      // A canteen terminal (the food-safety officer's: records, case notifications) serves a canteen.
      if (device.kind === 'canteen_terminal' && canteenAt.size === 0)
        throw new ConfigError(source, `${dat}/kind`, `canteen terminal "${device.id}" is at school "${school.id}", which registers no canteens`);
      if (device.covers !== undefined && device.kind !== 'camera')
        throw new ConfigError(source, `${dat}/covers`, `only a camera covers places, but "${device.id}" is of kind ${device.kind}`);
      if (device.post !== undefined) {
        if (device.kind !== 'checkin_terminal')
          throw new ConfigError(source, `${dat}/post`, `only a check-in terminal stands at a post, but "${device.id}" is of kind ${device.kind}`);
        if (device.post !== GATEHOUSE_POST && !postAt.has(device.post))
          throw new ConfigError(source, `${dat}/post`, `check-in terminal "${device.id}" stands at post "${device.post}", which school "${school.id}" does not have (its posts: ${[...postAt.keys(), GATEHOUSE_POST].join(', ')})`);
      }
      if (device.canteen !== undefined || device.area !== undefined) {
        const field = device.canteen !== undefined ? 'canteen' : 'area';
        if (device.kind !== 'camera' || !(CANTEEN_ZONES as readonly string[]).includes(device.zone!))
          throw new ConfigError(source, `${dat}/${field}`, `only a canteen camera (zone ${CANTEEN_ZONES.join(', ')}) names a canteen or area, but "${device.id}" is ${device.kind === 'camera' ? `a camera in zone ${device.zone}` : `of kind ${device.kind}`}`);
        if (device.canteen === undefined)
          throw new ConfigError(source, `${dat}/canteen`, `camera "${device.id}" names area "${device.area}" but not its canteen (one of ${canteenAt.size ? [...canteenAt.keys()].join(', ') : `none: school "${school.id}" registers no canteens`})`);
        const areas = canteenAreas.get(device.canteen);
        if (!areas)
          throw new ConfigError(source, `${dat}/canteen`, `camera "${device.id}" names canteen "${device.canteen}", which school "${school.id}" does not have (${canteenAt.size ? `its canteens: ${[...canteenAt.keys()].join(', ')}` : 'it registers no canteens'})`);
        if (device.area !== undefined && !areas.has(device.area))
          throw new ConfigError(source, `${dat}/area`, `camera "${device.id}" watches area "${device.area}", which canteen "${device.canteen}" of school "${school.id}" does not have (its areas: ${[...areas].join(', ')})`);
      }
      if (device.vendorRef !== undefined) {
        if (device.kind !== 'camera') throw new ConfigError(source, `${dat}/vendorRef`, `only a camera has a vendor reference, but "${device.id}" is of kind ${device.kind}`);
        const key = vendorKey(device.vendorRef.nvrSerial, device.vendorRef.channel);
        const prevRef = vendorRefAt.get(key);
        if (prevRef)
          throw new ConfigError(source, `${dat}/vendorRef`, `NVR "${device.vendorRef.nvrSerial}" channel ${device.vendorRef.channel} is already the camera at ${prevRef}; a vendor reference names one camera in the county`);
        vendorRefAt.set(key, `${dat}/vendorRef`);
        byVendorRef.set(key, device.id);
      }
      if (device.gb28181Id !== undefined) {
        if (device.kind !== 'camera') throw new ConfigError(source, `${dat}/gb28181Id`, `only a camera has a GB/T 28181 id here, but "${device.id}" is of kind ${device.kind}`);
        const prevGb = gbAt.get(device.gb28181Id);
        if (prevGb) throw new ConfigError(source, `${dat}/gb28181Id`, `duplicate GB/T 28181 id "${device.gb28181Id}" (already used at ${prevGb}); it must be unique across the county`);
        gbAt.set(device.gb28181Id, `${dat}/gb28181Id`);
        byGb.set(device.gb28181Id, device.id);
      }
      if (device.snapshotUrl !== undefined) {
        if (device.kind !== 'camera') throw new ConfigError(source, `${dat}/snapshotUrl`, `only a camera has a snapshot URL, but "${device.id}" is of kind ${device.kind}`);
        const problem = snapshotUrlProblem(device.snapshotUrl);
        if (problem) throw new ConfigError(source, `${dat}/snapshotUrl`, problem);
      }
      if (device.linkedCameras !== undefined && device.kind !== 'alarm_button')
        throw new ConfigError(source, `${dat}/linkedCameras`, `only an alarm button links cameras, but "${device.id}" is of kind ${device.kind}`);
      deviceAt.set(device.id, `${dat}/id`);
      // `school` first: spread after it, every entry shares one compact shape (spread first, then a
      // property added, costs ~3× the memory per device: 335 vs 107 bytes, measured at 200,000).
      devices.set(device.id, { school: school.id, ...device });
    });
    // After the school's devices are known: a button's cameras are cameras of its own school.
    school.devices.forEach((device, j) => {
      device.linkedCameras?.forEach((cam, k) => {
        const d = devices.get(cam);
        if (d?.kind !== 'camera' || d.school !== school.id)
          throw new ConfigError(source, `${at}/devices/${j}/linkedCameras/${k}`, `alarm button "${device.id}" links "${cam}", which is not a camera of school "${school.id}"`);
      });
    });
  });

  checkMap(registry, source);
  // The JSON pointers serve only the messages above; the lookups below close over this scope, so
  // let them go rather than keep a pointer string per device for the gateway's lifetime.
  for (const m of [schoolAt, deviceAt, creditCodeAt, vendorRefAt, gbAt]) m.clear();

  // One object per device: the tree the gateway keeps (`registry`, `schools`) holds the index's own
  // entries, so the parsed devices can go (a province's million of them). The caller's object is
  // left as it was (generate-registry writes it to a file).
  const tree: Registry = {
    ...registry,
    schools: registry.schools.map((s) => {
      const school: RegistrySchool = { ...s, devices: s.devices.map((d) => devices.get(d.id)!) };
      schools.set(s.id, school);
      return school;
    }),
  };
  return {
    registry: tree,
    source,
    schools,
    devices,
    heartbeatIntervalSec(deviceId) {
      const d = devices.get(deviceId);
      if (!d) throw new Error(`unknown device "${deviceId}"`);
      return heartbeatSec(tree, d);
    },
    posts: (schoolId) => posts.get(schoolId) ?? (schools.has(schoolId) ? GATEHOUSE_ONLY : NO_POSTS),
    schoolByCreditCode(code) {
      const id = byCreditCode.get(code);
      return id === undefined ? undefined : schools.get(id);
    },
    cameraByVendorRef(nvrSerial, channel) {
      const id = byVendorRef.get(vendorKey(nvrSerial, channel));
      return id === undefined ? undefined : devices.get(id);
    },
    cameraByGb28181Id(gbId) {
      const id = byGb.get(gbId);
      return id === undefined ? undefined : devices.get(id);
    },
  };
}

/** Why a registry snapshot URL is unusable, or undefined. Credentials never go in the registry. */
function snapshotUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "snapshot URL is not a URL (it is not shown: it might hold a password)";
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `snapshot URL must be http or https, not ${u.protocol}`;
  if (u.username || u.password) return 'snapshot URL must not hold credentials (put them in the ONVIF credentials file, under the camera)';
  return undefined;
}

/**
 * The county map's positions: township names unique, every school's region among them when they are
 * given, no township without a school, and no two schools' own positions closer than MAP_MIN_SCHOOL_GAP.
 */
function checkMap(registry: Registry, source: string): void {
  const townships = registry.county.townships;
  if (townships) {
    const at = new Map<string, number>();
    townships.forEach((t, i) => {
      const prev = at.get(t.name);
      if (prev !== undefined) throw new ConfigError(source, `/county/townships/${i}/name`, `duplicate township "${t.name}" (already at /county/townships/${prev})`);
      at.set(t.name, i);
    });
    const used = new Set<string>();
    registry.schools.forEach((s, i) => {
      if (!at.has(s.region))
        throw new ConfigError(source, `/schools/${i}/region`, `school "${s.id}" is in region "${s.region}", which /county/townships does not list (it lists ${[...at.keys()].join(', ')}); add it there, or drop townships to let the wall lay them out`);
      used.add(s.region);
    });
    townships.forEach((t, i) => {
      if (!used.has(t.name)) throw new ConfigError(source, `/county/townships/${i}/name`, `township "${t.name}" has no school (no school's region is "${t.name}")`);
    });
  }
  const placed: { x: number; y: number; i: number; id: string }[] = [];
  registry.schools.forEach((s, i) => {
    if (!s.map) return;
    const near = placed.find((p) => Math.hypot(p.x - s.map!.x, p.y - s.map!.y) < MAP_MIN_SCHOOL_GAP);
    if (near)
      throw new ConfigError(source, `/schools/${i}/map`, `school "${s.id}" at (${s.map.x}, ${s.map.y}) is closer than ${MAP_MIN_SCHOOL_GAP} to school "${near.id}" at (${near.x}, ${near.y}) (/schools/${near.i}/map); their map markers would overlap`);
    placed.push({ ...s.map, i, id: s.id });
  });
}

/** NUL cannot occur in a serial (its pattern), so the key is unambiguous. */
const vendorKey = (nvrSerial: string, channel: number) => `${nvrSerial}\u0000${channel}`;

/** TypeBox's messages made specific: allowed values, the field's name, what was found. */
function describe(e: ValueError): string {
  const got = e.value === undefined ? '' : ` (got ${truncate(JSON.stringify(e.value))})`;
  const consts = e.type === ValueErrorType.Union && Array.isArray(e.schema.anyOf) ? e.schema.anyOf.map((s: { const?: unknown }) => s.const) : [];
  if (consts.length && consts.every((c: unknown) => c !== undefined))
    return `must be one of ${consts.map((c: unknown) => JSON.stringify(c)).join(', ')}${got}`;
  if (e.type === ValueErrorType.ObjectRequiredProperty) return `required field "${lastKey(e.path)}" is missing`;
  if (e.type === ValueErrorType.ObjectAdditionalProperties) return `unknown field "${lastKey(e.path)}"`;
  if (e.type === ValueErrorType.StringPattern) {
    const d = (e.schema as { description?: string }).description;
    if (d) return `"${truncate(String(e.value), 80)}" is not a ${d}`;
    if ((e.schema as { pattern?: string }).pattern === ID_PATTERN) return `"${truncate(String(e.value), 80)}" is not a valid id (letters, digits, _ and -, 1–64 characters)`;
    return `"${truncate(String(e.value), 80)}" is not valid (must match ${(e.schema as { pattern?: string }).pattern})`;
  }
  return `${e.message.toLowerCase()}${got}`;
}

const lastKey = (pointer: string) => pointer.slice(pointer.lastIndexOf('/') + 1).replace(/~1/g, '/').replace(/~0/g, '~');
const truncate = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n)}…` : s);

