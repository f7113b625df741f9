/**
 * REST client (contract §3) and the session token, kept in sessionStorage. As a kiosk (a wall
 * screen set up with a setup link) it holds the device secret too, and renews its short session
 * with it silently: before it expires, and on any 401. Only a revoked kiosk stops.
 */
import type { Alarm, AlarmAction, Device, Role, SchoolStatus } from '../gateway/contract/api.js';
import type { CanteenSummary, CaseAction, CaseDetail } from './state/canteen.js';
import type { TargetRate, TargetStatus } from './state/targets.js';
import type { AlarmStats } from './state/stats.js';
import type { UptimeReport, UptimeWindow } from './uptime.js';
import { loadKiosk, saveKiosk, type KioskCredential } from './kiosk.js';
import type { KioskRow } from './views/kiosk-admin.js';

export interface Session {
  token: string;
  role: Role;
  user: string;
  expiresAt: string;
  /** A user bound to a school (contract §7): their console is that school's. Absent: a county user. */
  school?: string;
}

const KEY = 'wall.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    if (!s.token || (s.expiresAt && Date.parse(s.expiresAt) <= Date.now())) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return s;
  } catch {
    return null;
  }
}

function saveSession(s: Session | null): void {
  try {
    if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
    else sessionStorage.removeItem(KEY);
  } catch {
    /* storage unavailable: the session lives in memory only */
  }
}

/** An error answer from the gateway: `{error, message}` plus the HTTP status (0 = network). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** One school's verdict on one target (GET /api/targets/{id}/schools, GET /api/schools/{id}/targets). */
export interface TargetVerdict {
  school: string;
  schoolName: string;
  target: string;
  name: string;
  nameEn: string;
  status: TargetStatus;
  inScope: boolean;
  since: string;
  evaluatedAt: string;
  staleAt: string | null;
  reasons: { zh: string; en: string }[];
  evidence: string[];
}

/** A stored canteen record (GET /api/canteen/records): the record's own fields, times as ISO. */
export type CanteenRecordView = Record<string, unknown> & { id: string; kind: string; school: string; day: string; by: string };

export const canAct = (role: Role | undefined): boolean => role === 'operator' || role === 'admin';

export interface SchoolsReply {
  schools: SchoolStatus[];
  /** Optional: the county the registry describes (shown in the header when the server sends it). */
  county?: { id?: string; name: string; nameEn?: string; townships?: { name: string; nameEn?: string; x: number; y: number }[] };
}

type Listener = () => void;

/** POST /api/kiosk/session and /api/kiosk/setup (the latter adds `secret`). */
interface KioskSessionReply {
  token: string;
  role: Role;
  expiresAt: string;
  kiosk: { id: string; name: string; school?: string };
  secret?: string;
}

/** A kiosk session is renewed when this share of its life is over; a failed renewal is retried after RENEW_RETRY_MS. */
const RENEW_AT = 0.8;
const RENEW_RETRY_MS = 15_000;

/** The file name in a Content-Disposition header (`filename*=UTF-8''…` or `filename="…"`), or null. */
export function filenameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  let name = '';
  const star = /filename\*\s*=\s*(?:UTF-8'[^']*')?([^;]+)/i.exec(disposition);
  if (star) {
    try {
      name = decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      name = '';
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(disposition);
    name = plain ? (plain[2] ?? plain[1]).trim() : '';
  }
  // Only a base name, never a path.
  return name ? name.replace(/[\\/]/g, '_') : null;
}

export class Api {
  session: Session | null = loadSession();
  /** Set when this browser is a kiosk (its device secret), or a revoked one. */
  kiosk: KioskCredential | null = loadKiosk();
  private unauthorized = new Set<Listener>();
  private revokedListeners = new Set<Listener>();
  private renewing: Promise<Session> | null = null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly base = '') {}

  /** Called whenever any request answers 401 (the session is then dropped). */
  onUnauthorized(fn: Listener): () => void {
    this.unauthorized.add(fn);
    return () => this.unauthorized.delete(fn);
  }

  /** Called once when the gateway says this kiosk was revoked (its secret is then dropped). */
  onKioskRevoked(fn: Listener): () => void {
    this.revokedListeners.add(fn);
    return () => this.revokedListeners.delete(fn);
  }

  /** A kiosk with its secret: sessions come from the secret, never from a login form. */
  get isKiosk(): boolean {
    return typeof this.kiosk?.secret === 'string';
  }

  /** Spends a setup code: this browser becomes the kiosk (the secret is kept in localStorage). */
  async setupKiosk(setupCode: string): Promise<Session> {
    const reply = await this.request<KioskSessionReply>('POST', '/api/kiosk/setup', { setupCode }, false);
    this.kiosk = { id: reply.kiosk.id, name: reply.kiosk.name, ...(reply.kiosk.school ? { school: reply.kiosk.school } : {}), secret: reply.secret };
    saveKiosk(this.kiosk);
    return this.kioskSession(reply);
  }

  /**
   * A fresh kiosk session for the device secret (one request at a time). A 401 means revoked (or
   * a secret the gateway does not know): the kiosk is marked revoked and the listeners told.
   */
  renewKiosk(): Promise<Session> {
    const secret = this.kiosk?.secret;
    if (!secret) return Promise.reject(new ApiError(401, 'kiosk_revoked', 'this screen is not (or no longer) a kiosk'));
    this.renewing ??= this.request<KioskSessionReply>('POST', '/api/kiosk/session', { secret }, false)
      .then(
        (reply) => this.kioskSession(reply),
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 401) this.kioskRevoked();
          else this.scheduleRenew(RENEW_RETRY_MS);
          throw err;
        },
      )
      .finally(() => {
        this.renewing = null;
      });
    return this.renewing;
  }

  /** Keeps a kiosk's session renewed before it expires (call once the page runs as a kiosk). */
  keepKioskSession(): void {
    if (!this.isKiosk) return;
    if (!this.session) void this.renewKiosk().catch(() => undefined);
    else this.scheduleRenew(this.renewDelay(this.session));
  }

  private kioskSession(reply: KioskSessionReply): Session {
    const s: Session = { token: reply.token, role: reply.role, expiresAt: reply.expiresAt, user: reply.kiosk.name };
    this.session = s;
    saveSession(s);
    this.scheduleRenew(this.renewDelay(s));
    return s;
  }

  private renewDelay(s: Session): number {
    const left = Date.parse(s.expiresAt) - Date.now();
    return Math.max(1000, Math.min(2 ** 31 - 1, left * RENEW_AT));
  }

  private scheduleRenew(ms: number): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      void this.renewKiosk().catch(() => undefined);
    }, ms);
  }

  private kioskRevoked(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    const k = this.kiosk;
    this.kiosk = k ? { id: k.id, name: k.name, ...(k.school ? { school: k.school } : {}), revoked: true } : null;
    saveKiosk(this.kiosk);
    this.session = null;
    saveSession(null);
    for (const fn of this.revokedListeners) fn();
  }

  async login(user: string, password: string): Promise<Session> {
    const reply = await this.request<{ token: string; role: Role; expiresAt: string; user?: string; school?: string }>(
      'POST',
      '/api/login',
      { user, password },
      false,
    );
    const s: Session = { token: reply.token, role: reply.role, expiresAt: reply.expiresAt, user: reply.user ?? user };
    if (typeof reply.school === 'string' && reply.school) s.school = reply.school;
    this.session = s;
    saveSession(s);
    return s;
  }

  logout(): void {
    this.session = null;
    saveSession(null);
  }

  schools(): Promise<SchoolsReply> {
    return this.request('GET', '/api/schools');
  }

  devices(q: { status?: 'online' | 'offline'; school?: string; kind?: string } = {}): Promise<{ devices: Device[] }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
    const qs = params.toString();
    return this.request('GET', `/api/devices${qs ? `?${qs}` : ''}`);
  }

  alarms(q: { state?: 'open' | 'all'; school?: string; since?: string; limit?: number } = {}): Promise<{ alarms: Alarm[] }> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== '') params.set(k, String(v));
    const qs = params.toString();
    return this.request('GET', `/api/alarms${qs ? `?${qs}` : ''}`);
  }

  /** GET /api/stats/alarms (the wall's statistics band): `days` local days ending today. */
  alarmStats(days = 7): Promise<AlarmStats> {
    return this.request('GET', `/api/stats/alarms?days=${days}`);
  }

  async alarm(id: string): Promise<Alarm> {
    return this.request<Alarm>('GET', `/api/alarms/${encodeURIComponent(id)}`);
  }

  /** Answers the alarm after the change. */
  act(id: string, action: AlarmAction, note?: string): Promise<Alarm> {
    const body = note && note.trim() ? { note: note.trim() } : {};
    return this.request('POST', `/api/alarms/${encodeURIComponent(id)}/${action}`, body);
  }

  /** A note on its own (any state, resolved too): answers the alarm with the note last in its history. */
  note(id: string, note: string): Promise<Alarm> {
    return this.request('POST', `/api/alarms/${encodeURIComponent(id)}/note`, { note: note.trim() });
  }

  /** Kiosks (admin): every wall screen's credential, issued, set up, last seen or revoked. */
  kiosks(): Promise<{ kiosks: KioskRow[] }> {
    return this.request('GET', '/api/kiosks');
  }

  /** Issues a kiosk (admin): the reply carries the one-time set-up link. */
  issueKiosk(name: string, school?: string): Promise<KioskRow & { url: string }> {
    return this.request('POST', '/api/kiosks', { name, ...(school ? { school } : {}) });
  }

  revokeKiosk(id: string): Promise<KioskRow> {
    return this.request('DELETE', `/api/kiosks/${encodeURIComponent(id)}`);
  }

  /** Camera uptime per camera, school and zone (maintenance, operator, admin; 403 for viewers). */
  uptime(window: UptimeWindow = '24h'): Promise<UptimeReport> {
    return this.request('GET', `/api/cameras/uptime?window=${encodeURIComponent(window)}`);
  }

  /** The six targets' county rates (contract §7). */
  targets(): Promise<{ evaluatedAt: string; targets: TargetRate[] }> {
    return this.request('GET', '/api/targets');
  }

  /** Each in-scope school's verdict on one target, optionally of one status only. */
  targetSchools(target: string, status?: TargetStatus): Promise<{ target: string; schools: TargetVerdict[] }> {
    return this.request('GET', `/api/targets/${encodeURIComponent(target)}/schools${status ? `?status=${encodeURIComponent(status)}` : ''}`);
  }

  /** One school's six verdicts. */
  schoolTargets(school: string): Promise<{ school: string; targets: TargetVerdict[] }> {
    return this.request('GET', `/api/schools/${encodeURIComponent(school)}/targets`);
  }

  /** Contract §8: coverage, AI events by kind, open and overdue cases, meals, per school (a school user: theirs). */
  canteenSummary(date?: string): Promise<CanteenSummary> {
    return this.request('GET', `/api/canteen/summary${date ? `?date=${encodeURIComponent(date)}` : ''}`);
  }

  /** One rectification case with its history and the actions its state allows. */
  canteenCase(id: string): Promise<CaseDetail> {
    return this.request('GET', `/api/canteen/cases/${encodeURIComponent(id)}`);
  }

  /** A case action; `photo` is base64 (a `data:` prefix is accepted). Answers the case after it. */
  caseAction(id: string, action: CaseAction, body: { note?: string; photo?: string; measure?: string }): Promise<CaseDetail> {
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(body)) if (typeof v === 'string' && v.trim()) clean[k] = k === 'photo' ? v : v.trim();
    return this.request('POST', `/api/canteen/cases/${encodeURIComponent(id)}/${action}`, clean);
  }

  /** The canteen records of a local day (default today; a school user: theirs). */
  canteenRecords(date?: string): Promise<{ date: string; records: CanteenRecordView[] }> {
    return this.request('GET', `/api/canteen/records${date ? `?date=${encodeURIComponent(date)}` : ''}`);
  }

  /** A canteen record (留样, 晨检, 陪餐, 消毒): `201 {id, kind, day}`. */
  canteenRecord(record: Record<string, unknown>): Promise<{ id: string; kind: string; day: string }> {
    return this.request('POST', '/api/canteen/records', record);
  }

  /** A stored photo (GET /api/media/{sha256}, bearer token) as a Blob, for an object URL. */
  async media(sha: string): Promise<Blob> {
    return (await this.download(`/api/media/${encodeURIComponent(sha)}`, sha)).blob;
  }

  /**
   * A file the gateway serves behind the bearer token (a plain link cannot carry it): the body as
   * a Blob and the file name from Content-Disposition (else `fallbackName`).
   */
  async download(path: string, fallbackName: string, retry = true): Promise<{ blob: Blob; filename: string }> {
    const headers: Record<string, string> = {};
    if (this.session) headers.authorization = `Bearer ${this.session.token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { headers, cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
    }
    if (!res.ok) {
      let body: Record<string, unknown> = {};
      try {
        body = (await res.json()) as Record<string, unknown>;
      } catch {
        /* not JSON */
      }
      if (res.status === 401 && this.isKiosk) {
        if (retry) {
          await this.renewKiosk();
          return this.download(path, fallbackName, false);
        }
      } else if (res.status === 401) {
        this.logout();
        for (const fn of this.unauthorized) fn();
      }
      throw new ApiError(res.status, String(body.error ?? res.status), String(body.message ?? res.statusText), body);
    }
    const blob = await res.blob();
    return { blob, filename: filenameOf(res.headers.get('content-disposition')) ?? fallbackName };
  }

  /** The WebSocket URL of the live feed, token in the query (contract §3). */
  liveUrl(): string {
    const loc = globalThis.location;
    const origin = this.base || `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}`;
    const wsOrigin = origin.replace(/^http/, 'ws');
    return `${wsOrigin}/live?token=${encodeURIComponent(this.session?.token ?? '')}`;
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = true, retry = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.session) headers.authorization = `Bearer ${this.session.token}`;
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (err) {
      throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
    }
    let json: Record<string, unknown> = {};
    const text = await res.text();
    if (text) {
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { message: text.slice(0, 200) };
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, String(json.error ?? res.status), String(json.message ?? res.statusText), json);
      if (res.status === 401 && auth && this.isKiosk) {
        // An expired (or, after a long cut, unknown) session: a new one from the secret, then once more.
        if (retry) {
          await this.renewKiosk();
          return this.request<T>(method, path, body, auth, false);
        }
      } else if (res.status === 401 && auth) {
        this.logout();
        for (const fn of this.unauthorized) fn();
      }
      throw err;
    }
    return json as T;
  }
}
