/**
 * The canteen scenario (`canteen-scenario.ts`) spoken to the gateway through its public inputs, for
 * the seed and the simulator alike: records over `POST /api/canteen/records`, the vendor's AI records
 * over `POST /api/push/trustivs` in the vendor's own format, the school's and the center's case steps
 * over `POST /api/canteen/cases/{id}/{action}`. (Cameras' own `ai` messages go over MQTT, with the
 * other device messages.)
 */
import { randomBytes } from 'node:crypto';
import type { PolicyIndex } from '../gateway/policy.js';
import type { RegistryIndex } from '../gateway/registry.js';
import type { AiKind } from '../gateway/contract/mqtt.js';
import type { CaseStep, CanteenScenario, PlannedAi } from './canteen-scenario.js';
import { hash } from './scenario.js';
import { png } from './png.js';

/** TrustIVS alarm type codes (docs/vendors.md). */
const TRUSTIVS_TYPE: Partial<Record<AiKind, string>> = {
  no_hat: '1001', no_mask: '1002', no_uniform: '1003', no_gloves: '1004', bare_chested: '1005', smoking: '1006', phone: '1007',
  rodent: '1008', animal: '1009', bin_uncovered: '1010', fire_unattended: '1011', off_post: '1012', intrusion: '1013',
};

export interface GatewayHttp {
  /** http://host:port */
  base: string;
  /** A county maintenance+ (records) and operator+ (case steps) token: the demo's admin. */
  token: string;
  /** The trustivs push key (`POST /api/vendors/trustivs/key`). */
  vendorKey?: string;
  /** A login of the school's own user (its food-safety officer), for the school's steps (`start`, `submit`); absent: `token`. */
  schoolToken?: (school: string) => Promise<string>;
}

/** The steps the school takes itself; `notify` (推送) and the review are the center's. */
const SCHOOL_STEPS = new Set(['start', 'submit']);

async function send(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, text: await res.text() };
}

export async function postRecord(g: GatewayHttp, body: unknown): Promise<void> {
  const r = await send(`${g.base}/api/canteen/records`, { authorization: `Bearer ${g.token}` }, body);
  if (r.status !== 201) throw new Error(`POST /api/canteen/records: ${r.status} ${r.text.slice(0, 300)}`);
}

/** A frame as the vendor platform records it: company credit code, NVR serial and channel, local time, score, picture. */
export function trustivsRecord(e: PlannedAi, registry: RegistryIndex, policy: PolicyIndex): Record<string, unknown> {
  const d = registry.devices.get(e.device)!;
  const s = registry.schools.get(e.school)!;
  const local = new Date(e.atMs + policy.offsetMs).toISOString().replace('T', ' ').slice(0, 19);
  return {
    recordId: e.id, companyCode: s.creditCode, companyName: s.name, deviceSerial: d.vendorRef!.nvrSerial, channelNo: d.vendorRef!.channel,
    channelName: d.name, alarmType: TRUSTIVS_TYPE[e.kind] ?? '1001', alarmTime: local, score: Math.round(e.confidence * 100),
    picBase64: png(hash(`${e.device}|${e.kind}|${e.id}`), 48, 36).toString('base64'),
  };
}

export async function pushVendor(g: GatewayHttp, e: PlannedAi, registry: RegistryIndex, policy: PolicyIndex): Promise<void> {
  if (!g.vendorKey) throw new Error('no trustivs key: the demo makes one with POST /api/vendors/trustivs/key');
  const r = await send(`${g.base}/api/push/trustivs`, { authorization: `Bearer ${g.vendorKey}` }, trustivsRecord(e, registry, policy));
  if (r.status !== 200) throw new Error(`POST /api/push/trustivs: ${r.status} ${r.text.slice(0, 300)}`);
}

interface CaseRow { id: string; school: string; state: string; openedAt: string; deadlineAt: string; history: { action: string }[] }

export async function listCases(g: GatewayHttp, query = ''): Promise<CaseRow[]> {
  const res = await fetch(`${g.base}/api/canteen/cases?limit=1000${query}`, { headers: { authorization: `Bearer ${g.token}` } });
  if (!res.ok) throw new Error(`GET /api/canteen/cases: ${res.status}`);
  return ((await res.json()) as { cases: CaseRow[] }).cases;
}

/**
 * Takes each case through the steps of its plan due by `untilMs` that it has not had yet (its
 * history's actions after `open` are the steps done). Returns the steps taken.
 */
export async function advanceCase(g: GatewayHttp, canteen: CanteenScenario, c: CaseRow, untilMs: number): Promise<number> {
  const done = c.history.filter((h) => h.action !== 'open' && h.action !== 'overdue').length;
  const due = canteen.caseSteps(c).filter((s) => s.atMs <= untilMs).slice(done);
  for (const step of due) await caseStep(g, c, step);
  return due.length;
}

async function caseStep(g: GatewayHttp, c: CaseRow, s: CaseStep): Promise<void> {
  const id = c.id;
  const token = SCHOOL_STEPS.has(s.action) && g.schoolToken ? await g.schoolToken(c.school) : g.token;
  const body = { ...(s.note ? { note: s.note } : {}), ...(s.measure ? { measure: s.measure } : {}), ...(s.photo ? { photo: png(hash(`${id}|${s.atMs}`), 64, 48).toString('base64') } : {}) };
  const r = await send(`${g.base}/api/canteen/cases/${encodeURIComponent(id)}/${s.action}`, { authorization: `Bearer ${token}` }, body);
  // 409: someone (an operator at the screen) moved the case meanwhile: the plan yields.
  if (r.status !== 200 && r.status !== 409) throw new Error(`POST /api/canteen/cases/${id}/${s.action}: ${r.status} ${r.text.slice(0, 300)}`);
}

/**
 * The school's food-safety officer's login, made on first use: a user bound to the school (role
 * viewer: a school user may act on its own cases whatever its role), with a throwaway password.
 */
export function schoolLogins(base: string, adminToken: string): (school: string) => Promise<string> {
  const logins = new Map<string, Promise<string>>();
  const make = async (school: string) => {
    const user = `food-${school}`;
    const password = randomBytes(12).toString('hex');
    const made = await send(`${base}/api/users`, { authorization: `Bearer ${adminToken}` }, { user, password, role: 'viewer', school });
    if (made.status >= 300) throw new Error(`POST /api/users ${user}: ${made.status} ${made.text.slice(0, 200)}`);
    const login = await send(`${base}/api/login`, {}, { user, password });
    if (login.status !== 200) throw new Error(`POST /api/login ${user}: ${login.status}`);
    return (JSON.parse(login.text) as { token: string }).token;
  };
  return (school) => {
    let p = logins.get(school);
    if (!p) logins.set(school, (p = make(school)));
    p.catch(() => logins.delete(school)); // tried again at the next step
    return p;
  };
}
