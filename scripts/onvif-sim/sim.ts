/**
 * ONVIF camera simulator: many cameras on ONE HTTP port, a path per camera, answering real
 * ONVIF SOAP 1.2 (device, media, events/PullPoint), checking WS-Security UsernameToken digests,
 * serving a real JPEG snapshot, and answering WS-Discovery probes over UDP.
 *
 *   /onvif/<id>/device_service      GetSystemDateAndTime (unauthenticated), GetDeviceInformation,
 *                                   GetCapabilities, GetServices, GetScopes, GetHostname
 *   /onvif/<id>/media_service       GetProfiles, GetVideoSources, GetSnapshotUri, GetStreamUri
 *   /onvif/<id>/event_service       CreatePullPointSubscription, GetEventProperties
 *   /onvif/<id>/subscription/<sid>  PullMessages (long poll), Renew, Unsubscribe
 *   /onvif/<id>/snapshot.jpg        GET: an 8×8 JPEG
 *   /_control[/<id>|/*]             GET state, POST JSON controls (see `ControlBody`)
 *
 * Authentication failures answer HTTP 400 with the SOAP fault `env:Sender / ter:NotAuthorized`,
 * as the ONVIF Core spec prescribes for WS-Security (and as the `onvif` client expects).
 *
 * "Down": every camera shares one listening socket, so "connection refused" cannot be simulated per
 * camera. A camera that is down either destroys the TCP connection as soon as a request for it
 * arrives (`'reset'`: the client sees ECONNRESET / "socket hang up" at once, like a refused or reset
 * connection) or accepts the request and never answers (`'blackhole'`: the client runs into its
 * timeout, like a powered-off camera behind a live switch). Going down also drops the camera's
 * PullPoint subscriptions (as a reboot would) and cuts its pending long polls.
 */
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { tinyJpeg } from './jpeg.js';
import { startDiscoveryResponder, type DiscoveryResponder } from './discovery.js';
import {
  envelope,
  escapeXml,
  fault,
  parseRequest,
  parseTermination,
  passwordDigest,
  textOf,
  type SoapRequest,
} from './soap.js';

export type DownMode = false | 'reset' | 'blackhole';

export interface SimCameraSpec {
  id: string;
  /** Defaults to the simulator's `username` / `password`. */
  username?: string;
  password?: string;
  manufacturer?: string;
  model?: string;
  firmware?: string;
  serial?: string;
  /** Number of media profiles (main stream, plus a sub stream when 2). Default 1 or 2 alternating. */
  profiles?: 1 | 2;
  /** Camera clock minus true time, in ms. */
  clockSkewMs?: number;
  /** Extra delay before every answer, in ms. */
  delayMs?: number;
  down?: DownMode;
  /** Refuse even GetSystemDateAndTime without credentials (some Panasonic and other devices do). */
  timeNeedsAuth?: boolean;
  /** What GET snapshot.jpg answers: the JPEG (default), an HTML login page with status 200, or nothing ever. */
  snapshot?: SnapshotMode;
}

export type SnapshotMode = 'jpeg' | 'text' | 'hang';

export interface OnvifSimOptions {
  /** A count (ids `<idPrefix>0001`…) or explicit cameras. */
  cameras: number | SimCameraSpec[];
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  idPrefix?: string;
  username?: string;
  password?: string;
  /**
   * WS-Discovery responder; `false` disables it. Unicast probes go to 127.0.0.1:`port` (0: any free
   * port, see `OnvifSim.discoveryPort`); with `multicast`, it also joins 239.255.255.250 on the
   * loopback interface and answers probes sent there to `multicastPort` (default 3702).
   */
  discovery?: false | { port?: number; multicast?: boolean; multicastPort?: number; multicastInterface?: string };
  /** How far a UsernameToken's Created may be from the camera's clock. Default 5 min. */
  authWindowMs?: number;
  /** HTTP keep-alive timeout of the server. Default 15 s. */
  keepAliveTimeoutMs?: number;
  /** Longest PullMessages wait the cameras grant. Default 60 s (the minimum ONVIF requires). */
  maxPullTimeoutMs?: number;
  /** Messages kept per subscription before the oldest are dropped. Default 500. */
  maxQueuedMessages?: number;
  log?: (msg: string) => void;
  /**
   * `'digest'`: GET snapshot.jpg asks for HTTP Digest (RFC 7616, MD5, qop=auth) with the camera's
   * credentials, as most real cameras do; default: no authentication.
   */
  snapshotAuth?: 'digest';
}

export interface SimEvent {
  topic: string;
  data?: Record<string, string>;
  source?: Record<string, string>;
  propertyOperation?: 'Initialized' | 'Changed' | 'Deleted';
}

export interface ControlBody {
  down?: boolean | DownMode;
  delayMs?: number;
  clockSkewMs?: number;
  username?: string;
  password?: string;
  event?: string | SimEvent;
  snapshot?: SnapshotMode;
}

export interface CameraState {
  id: string;
  username: string;
  manufacturer: string;
  model: string;
  firmware: string;
  serial: string;
  profiles: 1 | 2;
  clockSkewMs: number;
  delayMs: number;
  down: DownMode;
  deviceUrl: string;
  snapshotUrl: string;
  subscriptions: number;
  /** Requests answered or refused, per operation (including 'snapshot', 'NotAuthorized'). */
  requests: Record<string, number>;
  /** Requests in progress now, excluding PullMessages long polls. */
  inFlight: number;
  /** Highest `inFlight` ever seen. */
  maxInFlight: number;
}

export interface OnvifSim {
  readonly host: string;
  readonly port: number;
  readonly baseUrl: string;
  /** UDP port for unicast WS-Discovery probes (undefined when discovery is off). */
  readonly discoveryPort?: number;
  /** Whether the responder joined the multicast group on loopback. */
  readonly multicast: boolean;
  readonly multicastPort?: number;
  cameraIds(): string[];
  deviceUrl(id: string): string;
  camera(id: string): CameraState;
  setDown(id: string, mode: boolean | DownMode): void;
  setDelay(id: string, ms: number): void;
  setClockSkew(id: string, ms: number): void;
  setCredentials(id: string, username: string, password: string): void;
  /** What the camera's snapshot.jpg answers from now on. */
  setSnapshot(id: string, mode: SnapshotMode): void;
  /** The JPEG the camera serves (each camera its own grey level). */
  snapshotBytes(id: string): Buffer;
  /** Queues a notification on every live subscription of the camera; returns how many got it. */
  emitEvent(id: string, ev: string | SimEvent): number;
  addCamera(spec: SimCameraSpec): void;
  removeCamera(id: string): void;
  stats(): { cameras: number; requests: number; byAction: Record<string, number>; subscriptions: number; pendingPulls: number };
  close(): Promise<void>;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const MANUFACTURERS = [
  ['SimVision', 'SV-IPC-B2'],
  ['SimVision', 'SV-IPC-D4'],
  ['Loopback Optics', 'LO-220'],
] as const;

interface Subscription {
  id: string;
  cameraId: string;
  /** Expiry on the true clock (ms). */
  expiresAt: number;
  queue: string[];
  pending?: { res: http.ServerResponse; limit: number; timer: NodeJS.Timeout };
}

interface Camera {
  spec: Required<Omit<SimCameraSpec, 'down'>> & { down: DownMode };
  index: number;
  subs: Map<string, Subscription>;
  held: Set<http.ServerResponse>;
  nonces: Set<string>;
  requests: Record<string, number>;
  inFlight: number;
  maxInFlight: number;
}

const pad2 = (n: number) => String(n).padStart(2, '0');
const isoNoMs = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function dateTimeXml(ms: number): string {
  const d = new Date(ms);
  return (
    `<tt:Time><tt:Hour>${d.getUTCHours()}</tt:Hour><tt:Minute>${d.getUTCMinutes()}</tt:Minute><tt:Second>${d.getUTCSeconds()}</tt:Second></tt:Time>` +
    `<tt:Date><tt:Year>${d.getUTCFullYear()}</tt:Year><tt:Month>${d.getUTCMonth() + 1}</tt:Month><tt:Day>${d.getUTCDate()}</tt:Day></tt:Date>`
  );
}

function defaultEventBody(topic: string): { source: Record<string, string>; data: Record<string, string> } {
  if (/CellMotionDetector|MotionAlarm|Motion$/.test(topic))
    return {
      source: { VideoSourceConfigurationToken: 'VideoSourceConfig_1', VideoAnalyticsConfigurationToken: 'VideoAnalyticsConfig_1', Rule: 'MyMotionDetectorRule' },
      data: { IsMotion: 'true' },
    };
  if (/HardwareFailure\/StorageFailure/.test(topic)) return { source: { Token: 'Storage_1' }, data: { Failed: 'true' } };
  if (/HardwareFailure/.test(topic)) return { source: { Token: 'Hardware_1' }, data: { Failed: 'true' } };
  return { source: { Source: 'VideoSource_1' }, data: { State: 'true' } };
}

const simpleItems = (items: Record<string, string>) =>
  Object.entries(items)
    .map(([k, v]) => `<tt:SimpleItem Name="${escapeXml(k)}" Value="${escapeXml(v)}"/>`)
    .join('');

export async function startOnvifSim(opts: OnvifSimOptions): Promise<OnvifSim> {
  const host = opts.host ?? '127.0.0.1';
  const prefix = opts.idPrefix ?? 'cam-';
  const defUser = opts.username ?? 'admin';
  const defPass = opts.password ?? 'admin';
  const authWindowMs = opts.authWindowMs ?? 5 * 60_000;
  const maxPullMs = opts.maxPullTimeoutMs ?? 60_000;
  const maxQueue = opts.maxQueuedMessages ?? 500;
  const log = opts.log ?? (() => {});

  const cameras = new Map<string, Camera>();
  const subsById = new Map<string, Subscription>();
  const byAction: Record<string, number> = {};
  const delayTimers = new Set<NodeJS.Timeout>();
  let totalRequests = 0;
  let nextIndex = 0;
  let closed = false;
  let port = 0;
  let baseUrl = '';

  const jpegCache = new Map<number, Buffer>();
  const jpegFor = (cam: Camera) => {
    const grey = 40 + ((cam.index * 37) % 180);
    let b = jpegCache.get(grey);
    if (!b) jpegCache.set(grey, (b = tinyJpeg(grey)));
    return b;
  };

  function addCamera(spec: SimCameraSpec): void {
    if (!ID_RE.test(spec.id)) throw new Error(`camera id "${spec.id}" must match ${ID_RE}`);
    if (cameras.has(spec.id)) throw new Error(`camera "${spec.id}" exists already`);
    const index = nextIndex++;
    const [manufacturer, model] = MANUFACTURERS[index % MANUFACTURERS.length];
    cameras.set(spec.id, {
      index,
      spec: {
        id: spec.id,
        username: spec.username ?? defUser,
        password: spec.password ?? defPass,
        manufacturer: spec.manufacturer ?? manufacturer,
        model: spec.model ?? model,
        firmware: spec.firmware ?? `V5.${index % 8}.${index % 13} build 2401${pad2((index % 28) + 1)}`,
        serial: spec.serial ?? `SIM${String(index + 1).padStart(8, '0')}`,
        profiles: spec.profiles ?? (index % 2 === 0 ? 2 : 1),
        clockSkewMs: spec.clockSkewMs ?? 0,
        delayMs: spec.delayMs ?? 0,
        down: spec.down ?? false,
        timeNeedsAuth: spec.timeNeedsAuth ?? false,
        snapshot: spec.snapshot ?? 'jpeg',
      },
      subs: new Map(),
      held: new Set(),
      nonces: new Set(),
      requests: {},
      inFlight: 0,
      maxInFlight: 0,
    });
  }

  if (typeof opts.cameras === 'number') {
    for (let i = 1; i <= opts.cameras; i++) addCamera({ id: `${prefix}${String(i).padStart(4, '0')}` });
  } else {
    for (const c of opts.cameras) addCamera(c);
  }

  const get = (id: string): Camera => {
    const c = cameras.get(id);
    if (!c) throw new Error(`no simulated camera "${id}"`);
    return c;
  };
  const camNow = (cam: Camera) => Date.now() + cam.spec.clockSkewMs;
  const urls = (id: string) => {
    const b = `${baseUrl}/onvif/${id}`;
    return { device: `${b}/device_service`, media: `${b}/media_service`, events: `${b}/event_service`, snapshot: `${b}/snapshot.jpg`, base: b };
  };

  function dropSubscription(sub: Subscription): void {
    subsById.delete(sub.id);
    cameras.get(sub.cameraId)?.subs.delete(sub.id);
    if (sub.pending) {
      clearTimeout(sub.pending.timer);
      sub.pending.res.destroy();
      sub.pending = undefined;
    }
  }

  function setDown(id: string, mode: boolean | DownMode): void {
    const cam = get(id);
    const m: DownMode = mode === true ? 'reset' : mode === false ? false : mode;
    cam.spec.down = m;
    if (m) {
      for (const sub of [...cam.subs.values()]) dropSubscription(sub);
    } else {
      for (const res of cam.held) res.destroy();
      cam.held.clear();
    }
  }

  function emitEvent(id: string, ev: string | SimEvent): number {
    const cam = get(id);
    const e: SimEvent = typeof ev === 'string' ? { topic: ev } : ev;
    const defs = defaultEventBody(e.topic);
    const utc = new Date(camNow(cam)).toISOString();
    let n = 0;
    for (const sub of cam.subs.values()) {
      const msg =
        `<wsnt:NotificationMessage>` +
        `<wsnt:SubscriptionReference><a:Address>${urls(id).base}/subscription/${sub.id}</a:Address></wsnt:SubscriptionReference>` +
        `<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${escapeXml(e.topic)}</wsnt:Topic>` +
        `<wsnt:ProducerReference><a:Address>${urls(id).device}</a:Address></wsnt:ProducerReference>` +
        `<wsnt:Message><tt:Message UtcTime="${utc}" PropertyOperation="${e.propertyOperation ?? 'Changed'}">` +
        `<tt:Source>${simpleItems(e.source ?? defs.source)}</tt:Source>` +
        `<tt:Data>${simpleItems(e.data ?? defs.data)}</tt:Data>` +
        `</tt:Message></wsnt:Message></wsnt:NotificationMessage>`;
      sub.queue.push(msg);
      if (sub.queue.length > maxQueue) sub.queue.splice(0, sub.queue.length - maxQueue);
      n++;
      if (sub.pending) answerPull(cam, sub);
    }
    return n;
  }

  function answerPull(cam: Camera, sub: Subscription): void {
    const p = sub.pending;
    if (!p) return;
    clearTimeout(p.timer);
    sub.pending = undefined;
    const msgs = sub.queue.splice(0, p.limit);
    const now = camNow(cam);
    send(
      p.res,
      200,
      envelope(
        `<tev:PullMessagesResponse><tev:CurrentTime>${isoNoMs(now)}</tev:CurrentTime>` +
          `<tev:TerminationTime>${isoNoMs(sub.expiresAt + cam.spec.clockSkewMs)}</tev:TerminationTime>${msgs.join('')}</tev:PullMessagesResponse>`,
        `<a:Action>http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesResponse</a:Action>`,
      ),
      undefined,
      cam,
    );
  }

  function send(res: http.ServerResponse, status: number, body: string | Buffer, type = 'application/soap+xml; charset=utf-8', cam?: Camera): void {
    if (res.destroyed || res.writableEnded) return;
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) };
    if (cam) {
      // A camera's HTTP Date header comes from its own (possibly skewed) clock.
      res.sendDate = false;
      headers.Date = new Date(camNow(cam)).toUTCString();
    }
    res.writeHead(status, headers);
    res.end(body);
  }

  const DIGEST_REALM = 'IP Camera';
  const md5 = (s: string) => crypto.createHash('md5').update(s).digest('hex');

  /** HTTP Digest (RFC 7616, MD5, qop=auth) with the camera's credentials; nonces are not tracked (a simulator). */
  function digestAuthorized(cam: Camera, req: http.IncomingMessage): boolean {
    const h = req.headers.authorization;
    if (!h || !/^Digest /i.test(h)) return false;
    const f: Record<string, string> = {};
    for (const m of h.slice(7).matchAll(/([a-z0-9-]+)=(?:"([^"]*)"|([^,\s]+))/gi)) f[m[1].toLowerCase()] = m[2] ?? m[3];
    if (f.username !== cam.spec.username || f.realm !== DIGEST_REALM || !f.nonce || f.uri !== req.url) return false;
    const ha1 = md5(`${f.username}:${DIGEST_REALM}:${cam.spec.password}`);
    const ha2 = md5(`${req.method}:${f.uri}`);
    const expected = f.qop === 'auth' ? md5(`${ha1}:${f.nonce}:${f.nc}:${f.cnonce}:auth:${ha2}`) : md5(`${ha1}:${f.nonce}:${ha2}`);
    return f.response === expected;
  }

  const notAuthorized = () => fault('Sender', 'ter:NotAuthorized', 'Sender not Authorized');

  function authorized(cam: Camera, req: SoapRequest): boolean {
    const t = req.token;
    if (!t || t.username !== cam.spec.username) return false;
    if (!t.digest) return t.password === cam.spec.password;
    if (!t.nonce || !t.created) return false;
    const created = Date.parse(t.created);
    if (!Number.isFinite(created) || Math.abs(created - camNow(cam)) > authWindowMs) return false;
    if (passwordDigest(t.nonce, t.created, cam.spec.password) !== t.password) return false;
    // Replay protection (as Axis and others do): a nonce is accepted once.
    const key = `${t.nonce}|${t.created}`;
    if (cam.nonces.has(key)) return false;
    cam.nonces.add(key);
    if (cam.nonces.size > 512) cam.nonces.delete(cam.nonces.values().next().value!);
    return true;
  }

  const SERVICES: Record<string, Set<string>> = {
    device_service: new Set(['GetSystemDateAndTime', 'GetDeviceInformation', 'GetCapabilities', 'GetServices', 'GetScopes', 'GetHostname', 'GetServiceCapabilities']),
    media_service: new Set(['GetProfiles', 'GetVideoSources', 'GetSnapshotUri', 'GetStreamUri', 'GetServiceCapabilities']),
    event_service: new Set(['CreatePullPointSubscription', 'GetEventProperties', 'GetServiceCapabilities']),
    subscription: new Set(['PullMessages', 'Renew', 'Unsubscribe', 'SetSynchronizationPoint']),
  };
  const PRE_AUTH = new Set(['GetSystemDateAndTime']);

  function count(cam: Camera, action: string): void {
    cam.requests[action] = (cam.requests[action] ?? 0) + 1;
    byAction[action] = (byAction[action] ?? 0) + 1;
  }

  /** Returns the HTTP status and body, or null when the response is sent later (long poll). */
  function soap(cam: Camera, service: string, subId: string | undefined, xml: string, res: http.ServerResponse): [number, string] | null {
    const req = parseRequest(xml);
    if (!req || !req.action) return [400, fault('Sender', 'ter:WellFormed', 'Not a SOAP 1.2 envelope with a body element')];
    const a = req.action;
    if (!SERVICES[service].has(a)) {
      count(cam, 'ActionNotSupported');
      return [500, fault('Receiver', 'ter:ActionNotSupported', `${a} is not supported by this service`)];
    }
    if ((!PRE_AUTH.has(a) || cam.spec.timeNeedsAuth) && !authorized(cam, req)) {
      count(cam, 'NotAuthorized');
      return [400, notAuthorized()];
    }
    count(cam, a);
    const u = urls(cam.spec.id);
    const s = cam.spec;
    const now = camNow(cam);
    const ok = (body: string): [number, string] => [200, envelope(body)];
    switch (a) {
      case 'GetSystemDateAndTime':
        return ok(
          `<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>` +
            `<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>` +
            `<tt:TimeZone><tt:TZ>CST-8</tt:TZ></tt:TimeZone>` +
            `<tt:UTCDateTime>${dateTimeXml(now)}</tt:UTCDateTime>` +
            `<tt:LocalDateTime>${dateTimeXml(now + 8 * 3600_000)}</tt:LocalDateTime>` +
            `</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>`,
        );
      case 'GetDeviceInformation':
        return ok(
          `<tds:GetDeviceInformationResponse><tds:Manufacturer>${escapeXml(s.manufacturer)}</tds:Manufacturer>` +
            `<tds:Model>${escapeXml(s.model)}</tds:Model><tds:FirmwareVersion>${escapeXml(s.firmware)}</tds:FirmwareVersion>` +
            `<tds:SerialNumber>${escapeXml(s.serial)}</tds:SerialNumber><tds:HardwareId>${escapeXml(s.model)}-HW</tds:HardwareId>` +
            `</tds:GetDeviceInformationResponse>`,
        );
      case 'GetCapabilities':
        return ok(
          `<tds:GetCapabilitiesResponse><tds:Capabilities>` +
            `<tt:Device><tt:XAddr>${u.device}</tt:XAddr>` +
            `<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration><tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>` +
            `<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye><tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup><tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>` +
            `<tt:SupportedVersions><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tt:SupportedVersions></tt:System>` +
            `<tt:Security><tt:TLS1.1>false</tt:TLS1.1><tt:TLS1.2>false</tt:TLS1.2><tt:OnboardKeyGeneration>false</tt:OnboardKeyGeneration><tt:AccessPolicyConfig>false</tt:AccessPolicyConfig><tt:X.509Token>false</tt:X.509Token><tt:SAMLToken>false</tt:SAMLToken><tt:KerberosToken>false</tt:KerberosToken><tt:RELToken>false</tt:RELToken></tt:Security>` +
            `</tt:Device>` +
            `<tt:Events><tt:XAddr>${u.events}</tt:XAddr><tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport><tt:WSPullPointSupport>true</tt:WSPullPointSupport><tt:WSPausableSubscriptionManagerInterfaceSupport>false</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>` +
            `<tt:Media><tt:XAddr>${u.media}</tt:XAddr><tt:StreamingCapabilities><tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP><tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>` +
            `</tds:Capabilities></tds:GetCapabilitiesResponse>`,
        );
      case 'GetServices': {
        const caps = /true/i.test(textOf(req.body, 'IncludeCapability') ?? 'false');
        const svc = (ns: string, xaddr: string, minor: number, cap: string) =>
          `<tds:Service><tds:Namespace>${ns}</tds:Namespace><tds:XAddr>${xaddr}</tds:XAddr>` +
          (caps ? `<tds:Capabilities>${cap}</tds:Capabilities>` : '') +
          `<tds:Version><tt:Major>2</tt:Major><tt:Minor>${minor}</tt:Minor></tds:Version></tds:Service>`;
        return ok(
          `<tds:GetServicesResponse>` +
            svc('http://www.onvif.org/ver10/device/wsdl', u.device, 60, `<tds:Capabilities><tds:Network/><tds:Security UsernameToken="true" HttpDigest="false"/><tds:System/></tds:Capabilities>`) +
            svc('http://www.onvif.org/ver10/media/wsdl', u.media, 60, `<trt:Capabilities SnapshotUri="true" Rotation="false"><trt:ProfileCapabilities MaximumNumberOfProfiles="2"/><trt:StreamingCapabilities RTP_TCP="true" RTP_RTSP_TCP="true"/></trt:Capabilities>`) +
            svc('http://www.onvif.org/ver10/events/wsdl', u.events, 60, `<tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" MaxPullPoints="8"/>`) +
            `</tds:GetServicesResponse>`,
        );
      }
      case 'GetScopes': {
        const scope = (def: string, item: string) => `<tds:Scopes><tt:ScopeDef>${def}</tt:ScopeDef><tt:ScopeItem>${escapeXml(item)}</tt:ScopeItem></tds:Scopes>`;
        return ok(`<tds:GetScopesResponse>${scopesOf(cam).map((x, i) => scope(i < 3 ? 'Fixed' : 'Configurable', x)).join('')}</tds:GetScopesResponse>`);
      }
      case 'GetHostname':
        return ok(`<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP><tt:Name>${s.id}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>`);
      case 'GetServiceCapabilities':
        if (service === 'event_service')
          return ok(`<tev:GetServiceCapabilitiesResponse><tev:Capabilities WSSubscriptionPolicySupport="false" WSPullPointSupport="true" WSPausableSubscriptionManagerInterfaceSupport="false" MaxNotificationProducers="0" MaxPullPoints="8"/></tev:GetServiceCapabilitiesResponse>`);
        if (service === 'media_service')
          return ok(`<trt:GetServiceCapabilitiesResponse><trt:Capabilities SnapshotUri="true"><trt:ProfileCapabilities MaximumNumberOfProfiles="2"/></trt:Capabilities></trt:GetServiceCapabilitiesResponse>`);
        return ok(`<tds:GetServiceCapabilitiesResponse><tds:Capabilities><tds:Network/><tds:Security UsernameToken="true" HttpDigest="false"/><tds:System/></tds:Capabilities></tds:GetServiceCapabilitiesResponse>`);
      case 'GetProfiles':
        return ok(`<trt:GetProfilesResponse>${profilesXml(cam)}</trt:GetProfilesResponse>`);
      case 'GetVideoSources':
        return ok(
          `<trt:GetVideoSourcesResponse><trt:VideoSources token="VideoSource_1"><tt:Framerate>25</tt:Framerate>` +
            `<tt:Resolution><tt:Width>1920</tt:Width><tt:Height>1080</tt:Height></tt:Resolution></trt:VideoSources></trt:GetVideoSourcesResponse>`,
        );
      case 'GetSnapshotUri':
      case 'GetStreamUri': {
        const token = textOf(req.body, 'ProfileToken');
        if (!token || !profileTokens(cam).includes(token))
          return [400, fault('Sender', 'ter:InvalidArgVal', `No such profile "${token ?? ''}"`, 'ter:NoProfile')];
        const uri = a === 'GetSnapshotUri' ? u.snapshot : `rtsp://${host}:554/${s.id}/${token}`;
        return ok(
          `<trt:${a}Response><trt:MediaUri><tt:Uri>${escapeXml(uri)}</tt:Uri><tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>` +
            `<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:${a}Response>`,
        );
      }
      case 'GetEventProperties':
        return ok(
          `<tev:GetEventPropertiesResponse><tev:TopicNamespaceLocation>http://www.onvif.org/onvif/ver10/topics/topicns.xml</tev:TopicNamespaceLocation>` +
            `<wsnt:FixedTopicSet>true</wsnt:FixedTopicSet><wstop:TopicSet>` +
            `<tns1:VideoSource><GlobalSceneChange><ImagingService wstop:topic="true"/></GlobalSceneChange><ImageTooBlurry><ImagingService wstop:topic="true"/></ImageTooBlurry>` +
            `<ImageTooDark><ImagingService wstop:topic="true"/></ImageTooDark><ImageTooBright><ImagingService wstop:topic="true"/></ImageTooBright><SignalLoss wstop:topic="true"/></tns1:VideoSource>` +
            `<tns1:Device><HardwareFailure><StorageFailure wstop:topic="true"/></HardwareFailure></tns1:Device>` +
            `<tns1:RuleEngine><CellMotionDetector><Motion wstop:topic="true"/></CellMotionDetector></tns1:RuleEngine>` +
            `</wstop:TopicSet><wsnt:TopicExpressionDialect>http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet</wsnt:TopicExpressionDialect>` +
            `<tev:MessageContentFilterDialect>http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter</tev:MessageContentFilterDialect>` +
            `<tev:MessageContentSchemaLocation>http://www.onvif.org/onvif/ver10/schema/onvif.xsd</tev:MessageContentSchemaLocation>` +
            `</tev:GetEventPropertiesResponse>`,
        );
      case 'CreatePullPointSubscription': {
        const ttl = clampTtl(parseTermination(textOf(req.body, 'InitialTerminationTime'), now) ?? 60_000);
        const sub: Subscription = { id: crypto.randomBytes(8).toString('hex'), cameraId: s.id, expiresAt: Date.now() + ttl, queue: [] };
        subsById.set(sub.id, sub);
        cam.subs.set(sub.id, sub);
        return ok(
          `<tev:CreatePullPointSubscriptionResponse><tev:SubscriptionReference><a:Address>${u.base}/subscription/${sub.id}</a:Address></tev:SubscriptionReference>` +
            `<wsnt:CurrentTime>${isoNoMs(now)}</wsnt:CurrentTime><wsnt:TerminationTime>${isoNoMs(sub.expiresAt + s.clockSkewMs)}</wsnt:TerminationTime>` +
            `</tev:CreatePullPointSubscriptionResponse>`,
        );
      }
      case 'PullMessages':
      case 'Renew':
      case 'Unsubscribe':
      case 'SetSynchronizationPoint': {
        const sub = subId ? subsById.get(subId) : undefined;
        if (!sub || sub.cameraId !== s.id || sub.expiresAt <= Date.now()) {
          if (sub) dropSubscription(sub);
          return [400, fault('Sender', 'wsrf-rw:ResourceUnknownFault', 'No such subscription (expired or unsubscribed)')];
        }
        if (a === 'Unsubscribe') {
          dropSubscription(sub);
          return ok(`<wsnt:UnsubscribeResponse/>`);
        }
        if (a === 'SetSynchronizationPoint') return ok(`<tev:SetSynchronizationPointResponse/>`);
        if (a === 'Renew') {
          const ttl = clampTtl(parseTermination(textOf(req.body, 'TerminationTime'), now) ?? 60_000);
          sub.expiresAt = Date.now() + ttl;
          return ok(
            `<wsnt:RenewResponse><wsnt:TerminationTime>${isoNoMs(sub.expiresAt + s.clockSkewMs)}</wsnt:TerminationTime>` +
              `<wsnt:CurrentTime>${isoNoMs(now)}</wsnt:CurrentTime></wsnt:RenewResponse>`,
          );
        }
        // PullMessages: answer at once when messages are queued, else hold until one arrives or the timeout.
        const timeout = Math.max(0, Math.min(maxPullMs, parseTermination(textOf(req.body, 'Timeout'), now) ?? 10_000));
        const limit = Math.max(1, Math.min(1000, Number(textOf(req.body, 'MessageLimit') ?? 10) || 10));
        if (sub.pending) {
          // A second concurrent pull on one pull point: the first one is answered (empty) first.
          answerPull(cam, sub);
        }
        sub.pending = { res, limit, timer: setTimeout(() => answerPull(cam, sub), timeout) };
        res.once('close', () => {
          if (sub.pending?.res === res) {
            clearTimeout(sub.pending.timer);
            sub.pending = undefined;
          }
        });
        if (sub.queue.length > 0) answerPull(cam, sub);
        return null;
      }
    }
    return [500, fault('Receiver', 'ter:ActionNotSupported', `${a} is not implemented`)];
  }

  const clampTtl = (ms: number) => Math.max(1000, Math.min(3600_000, ms));
  const profileTokens = (cam: Camera) => (cam.spec.profiles === 2 ? ['Profile_1', 'Profile_2'] : ['Profile_1']);

  function profilesXml(cam: Camera): string {
    const p = (token: string, name: string, w: number, h: number, fps: number, kbps: number, n: number) =>
      `<trt:Profiles token="${token}" fixed="true"><tt:Name>${name}</tt:Name>` +
      `<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig</tt:Name><tt:UseCount>${cam.spec.profiles}</tt:UseCount>` +
      `<tt:SourceToken>VideoSource_1</tt:SourceToken><tt:Bounds x="0" y="0" width="1920" height="1080"/></tt:VideoSourceConfiguration>` +
      `<tt:VideoEncoderConfiguration token="VideoEncoderConfig_${n}"><tt:Name>VideoEncoder_${n}</tt:Name><tt:UseCount>1</tt:UseCount>` +
      `<tt:Encoding>H264</tt:Encoding><tt:Resolution><tt:Width>${w}</tt:Width><tt:Height>${h}</tt:Height></tt:Resolution><tt:Quality>4</tt:Quality>` +
      `<tt:RateControl><tt:FrameRateLimit>${fps}</tt:FrameRateLimit><tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>${kbps}</tt:BitrateLimit></tt:RateControl>` +
      `<tt:H264><tt:GovLength>${fps * 2}</tt:GovLength><tt:H264Profile>Main</tt:H264Profile></tt:H264>` +
      `<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address><tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>` +
      `<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration></trt:Profiles>`;
    return p('Profile_1', 'mainStream', 1920, 1080, 25, 4096, 1) + (cam.spec.profiles === 2 ? p('Profile_2', 'subStream', 640, 360, 15, 512, 2) : '');
  }

  function scopesOf(cam: Camera): string[] {
    return [
      'onvif://www.onvif.org/type/video_encoder',
      'onvif://www.onvif.org/Profile/Streaming',
      `onvif://www.onvif.org/hardware/${encodeURIComponent(cam.spec.model)}`,
      `onvif://www.onvif.org/name/${encodeURIComponent(cam.spec.id)}`,
      'onvif://www.onvif.org/location/country/china',
    ];
  }

  function cameraState(cam: Camera): CameraState {
    const { password: _pw, ...spec } = cam.spec;
    return {
      ...spec,
      deviceUrl: urls(cam.spec.id).device,
      snapshotUrl: urls(cam.spec.id).snapshot,
      subscriptions: cam.subs.size,
      requests: { ...cam.requests },
      inFlight: cam.inFlight,
      maxInFlight: cam.maxInFlight,
    };
  }

  function applyControl(id: string, c: ControlBody): void {
    if (c.down !== undefined) setDown(id, c.down);
    if (c.delayMs !== undefined) get(id).spec.delayMs = Math.max(0, Number(c.delayMs) || 0);
    if (c.clockSkewMs !== undefined) get(id).spec.clockSkewMs = Number(c.clockSkewMs) || 0;
    if (c.username !== undefined || c.password !== undefined) {
      const cam = get(id);
      cam.spec.username = c.username ?? cam.spec.username;
      cam.spec.password = c.password ?? cam.spec.password;
    }
    if (c.event !== undefined) emitEvent(id, c.event);
    if (c.snapshot !== undefined) {
      if (!['jpeg', 'text', 'hang'].includes(c.snapshot)) throw new Error(`snapshot must be jpeg, text or hang, not ${String(c.snapshot)}`);
      get(id).spec.snapshot = c.snapshot;
    }
  }

  function control(req: http.IncomingMessage, res: http.ServerResponse, target: string | undefined): void {
    const json = (status: number, v: unknown) => send(res, status, JSON.stringify(v), 'application/json');
    if (target !== undefined && target !== '*' && !cameras.has(target)) return json(404, { error: `no camera "${target}"` });
    if (req.method === 'GET') {
      if (target === undefined) return json(200, api.stats());
      if (target === '*') return json(200, [...cameras.values()].map(cameraState));
      return json(200, cameraState(get(target)));
    }
    if (req.method !== 'POST' || target === undefined) return json(405, { error: 'POST /_control/<cameraId|*> with JSON' });
    readBody(req, 64 * 1024, (body) => {
      if (body === null) return json(413, { error: 'body too large' });
      let c: ControlBody;
      try {
        c = JSON.parse(body.toString('utf8') || '{}') as ControlBody;
      } catch {
        return json(400, { error: 'body is not JSON' });
      }
      try {
        const ids = target === '*' ? [...cameras.keys()] : [target];
        for (const id of ids) applyControl(id, c);
        json(200, target === '*' ? { applied: ids.length } : cameraState(get(target)));
      } catch (e) {
        json(400, { error: (e as Error).message });
      }
    });
  }

  function readBody(req: http.IncomingMessage, limit: number, cb: (b: Buffer | null) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => cb(over ? null : Buffer.concat(chunks)));
    req.on('error', () => {});
  }

  const PATH_RE = /^\/onvif\/([A-Za-z0-9_-]{1,64})\/(device_service|media_service|event_service|snapshot\.jpg|subscription\/([0-9a-f]{1,64}))$/;

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/_control' || path.startsWith('/_control/')) {
      return control(req, res, path === '/_control' ? undefined : decodeURIComponent(path.slice('/_control/'.length)));
    }
    const m = PATH_RE.exec(path);
    const cam = m ? cameras.get(m[1]) : undefined;
    if (!m || !cam) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    totalRequests++;
    if (cam.spec.down === 'reset') return void req.socket.destroy();
    if (cam.spec.down === 'blackhole') {
      cam.held.add(res);
      res.once('close', () => cam.held.delete(res));
      req.resume();
      return;
    }
    const service = m[2].startsWith('subscription/') ? 'subscription' : m[2];
    readBody(req, 1024 * 1024, (body) => {
      let pending = true;
      cam.inFlight++;
      cam.maxInFlight = Math.max(cam.maxInFlight, cam.inFlight);
      const done = () => {
        if (pending) {
          pending = false;
          cam.inFlight--;
        }
      };
      res.once('close', done);
      const respond = () => {
        // The camera may have gone down while we were "slow".
        if (cam.spec.down === 'reset' || !cameras.has(cam.spec.id)) return void res.destroy();
        if (cam.spec.down === 'blackhole') {
          cam.held.add(res);
          res.once('close', () => cam.held.delete(res));
          return;
        }
        if (body === null) return send(res, 413, fault('Sender', 'ter:InvalidArgs', 'Request too large'), undefined, cam);
        if (service === 'snapshot.jpg') {
          if (req.method !== 'GET') return send(res, 405, 'GET only', 'text/plain');
          if (opts.snapshotAuth === 'digest' && !digestAuthorized(cam, req)) {
            count(cam, 'snapshotUnauthorized');
            res.setHeader('WWW-Authenticate', `Digest realm="${DIGEST_REALM}", qop="auth", nonce="${crypto.randomBytes(16).toString('hex')}", algorithm=MD5`);
            return send(res, 401, 'authentication required', 'text/plain', cam);
          }
          count(cam, 'snapshot');
          if (cam.spec.snapshot === 'hang') {
            cam.held.add(res);
            res.once('close', () => cam.held.delete(res));
            return;
          }
          if (cam.spec.snapshot === 'text') return send(res, 200, '<html><body>Please log in</body></html>', 'image/jpeg', cam);
          return send(res, 200, jpegFor(cam), 'image/jpeg', cam);
        }
        if (req.method !== 'POST') return send(res, 405, 'POST a SOAP envelope', 'text/plain');
        const r = soap(cam, service, m[3], body.toString('utf8'), res);
        if (r === null) {
          done(); // a long poll is not "in flight" work
          return;
        }
        send(res, r[0], r[1], undefined, cam);
      };
      if (cam.spec.delayMs > 0) {
        const t = setTimeout(() => {
          delayTimers.delete(t);
          respond();
        }, cam.spec.delayMs);
        delayTimers.add(t);
      } else respond();
    });
  });
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 15_000;
  server.headersTimeout = Math.max(server.keepAliveTimeout + 1000, 20_000);
  server.requestTimeout = 0; // long polls and blackholed requests are held on purpose
  server.maxConnections = 20_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  baseUrl = `http://${host}:${port}`;

  // Expire subscriptions nobody renews.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const sub of subsById.values()) if (sub.expiresAt <= now && !sub.pending) dropSubscription(sub);
  }, 1000);
  sweeper.unref();

  let discovery: DiscoveryResponder | undefined;
  if (opts.discovery !== false) {
    const d = opts.discovery ?? {};
    discovery = await startDiscoveryResponder({
      host,
      port: d.port ?? 0,
      multicast: d.multicast ?? false,
      multicastPort: d.multicastPort ?? 3702,
      multicastInterface: d.multicastInterface ?? '127.0.0.1',
      matches: () =>
        [...cameras.values()]
          .filter((c) => !c.spec.down)
          .map((c) => ({ id: c.spec.id, xaddrs: [urls(c.spec.id).device], scopes: scopesOf(c) })),
      log,
    });
  }

  const api: OnvifSim = {
    host,
    port,
    baseUrl,
    discoveryPort: discovery?.port,
    multicast: discovery?.multicast ?? false,
    multicastPort: discovery?.multicast ? discovery.multicastPort : undefined,
    cameraIds: () => [...cameras.keys()],
    deviceUrl: (id) => (get(id), urls(id).device),
    camera: (id) => cameraState(get(id)),
    setDown,
    setDelay: (id, ms) => void (get(id).spec.delayMs = Math.max(0, ms)),
    setClockSkew: (id, ms) => void (get(id).spec.clockSkewMs = ms),
    setCredentials: (id, username, password) => {
      const c = get(id);
      c.spec.username = username;
      c.spec.password = password;
    },
    snapshotBytes: (id) => jpegFor(get(id)),
    setSnapshot: (id, mode) => {
      const cam = get(id);
      cam.spec.snapshot = mode;
      // Released: a hanging snapshot request held from before is cut, as a camera that recovers would.
      if (mode !== 'hang') for (const res of cam.held) res.destroy();
    },
    emitEvent,
    addCamera,
    removeCamera: (id) => {
      const cam = get(id);
      setDown(id, 'reset');
      for (const res of cam.held) res.destroy();
      cameras.delete(id);
    },
    stats: () => {
      let pendingPulls = 0;
      for (const s of subsById.values()) if (s.pending) pendingPulls++;
      return { cameras: cameras.size, requests: totalRequests, byAction: { ...byAction }, subscriptions: subsById.size, pendingPulls };
    },
    close: async () => {
      if (closed) return;
      closed = true;
      clearInterval(sweeper);
      for (const t of delayTimers) clearTimeout(t);
      for (const sub of [...subsById.values()]) dropSubscription(sub);
      for (const cam of cameras.values()) for (const res of cam.held) res.destroy();
      await discovery?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  log(`ONVIF simulator: ${cameras.size} cameras on ${baseUrl}/onvif/<id>/device_service` + (discovery ? `, WS-Discovery on udp ${host}:${discovery.port}${discovery.multicast ? ` and 239.255.255.250:${discovery.multicastPort} (loopback)` : ''}` : ''));
  return api;
}
