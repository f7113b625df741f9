/**
 * WS-Discovery Probe (the 2005/04 version ONVIF uses): lists ONVIF devices that answer, so
 * maintenance can register cameras the registry does not know yet.
 *
 * Our own implementation rather than the `onvif` package's Discovery: that one only sends to the
 * multicast group (no unicast probe to a known address or a simulator on loopback), reads only the
 * first ProbeMatch of a datagram, is a process-wide singleton emitter, and by default constructs a
 * Cam per answer, which immediately connects to it (see docs/decisions/0002).
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';

export interface DiscoveredDevice {
  /** Device service URLs the device gave (often one per network interface). */
  xaddrs: string[];
  scopes: string[];
  /** EndpointReference address, stable per device (usually urn:uuid:…). */
  urn?: string;
  types?: string[];
  /** address:port the answer came from. */
  from?: string;
}

export interface DiscoverOptions {
  timeoutMs: number;
  /** Probes sent straight to these (a device or a simulator on a known port). */
  unicastTargets?: { host: string; port: number }[];
  /** Also probe 239.255.255.250 (default true; false when only unicast targets are wanted). */
  multicast?: boolean;
  /** Local interface address for multicast, e.g. the NIC facing the camera LAN, or 127.0.0.1. OS default if unset. */
  multicastInterface?: string;
  /** Default 3702. */
  multicastPort?: number;
  /** Local address to bind. Default 0.0.0.0. */
  bindAddress?: string;
}

const GROUP = '239.255.255.250';

function probeXml(messageId: string, types: string): Buffer {
  return Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>' +
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
      'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
      `<s:Header><a:MessageID>${messageId}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>` +
      '<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>' +
      `<s:Body><d:Probe><d:Types>${types}</d:Types></d:Probe></s:Body></s:Envelope>`,
    'utf8',
  );
}

const text = (xml: string, local: string): string | undefined => {
  const m = new RegExp(`<(?:[\\w.-]+:)?${local}(?:\\s[^>]*)?>([^<]*)</(?:[\\w.-]+:)?${local}\\s*>`).exec(xml);
  return m?.[1].trim();
};
const words = (s: string | undefined) => (s ? s.split(/\s+/).filter(Boolean) : []);

/** ProbeMatch entries of one datagram (there may be several), if it answers one of our probes. */
export function parseProbeMatches(xml: string, ourIds: Set<string>): DiscoveredDevice[] {
  if (!/ProbeMatches/.test(xml)) return [];
  const relatesTo = text(xml, 'RelatesTo');
  if (relatesTo && !ourIds.has(relatesTo)) return [];
  const out: DiscoveredDevice[] = [];
  const re = /<(?:[\w.-]+:)?ProbeMatch(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w.-]+:)?ProbeMatch\s*>/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const body = m[1];
    const epr = /<(?:[\w.-]+:)?EndpointReference[\s>][\s\S]*?<\/(?:[\w.-]+:)?EndpointReference\s*>/.exec(body)?.[0];
    const xaddrs = words(text(body, 'XAddrs'));
    if (xaddrs.length === 0) continue; // would need a Resolve round; ONVIF devices include XAddrs
    out.push({ xaddrs, scopes: words(text(body, 'Scopes')), urn: epr ? text(epr, 'Address') : undefined, types: words(text(body, 'Types')) });
  }
  return out;
}

export async function discover(opts: DiscoverOptions): Promise<DiscoveredDevice[]> {
  const sock = dgram.createSocket({ type: 'udp4' });
  const ids = new Set<string>();
  const found = new Map<string, DiscoveredDevice>();
  sock.on('message', (msg, rinfo) => {
    for (const d of parseProbeMatches(msg.toString('utf8'), ids)) {
      const key = d.urn ?? d.xaddrs.join(' ');
      const prev = found.get(key);
      if (prev) {
        for (const x of d.xaddrs) if (!prev.xaddrs.includes(x)) prev.xaddrs.push(x);
      } else found.set(key, { ...d, from: `${rinfo.address}:${rinfo.port}` });
    }
  });
  const errors: Error[] = [];
  sock.on('error', (e) => errors.push(e));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, opts.bindAddress ?? '0.0.0.0', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  try {
    try {
      sock.setRecvBufferSize(4 * 1024 * 1024); // a building's worth of answers arrives at once
    } catch {
      /* capped by the kernel; fine */
    }
    const probes = ['dn:NetworkVideoTransmitter', 'tds:Device'].map((types) => {
      const id = `urn:uuid:${crypto.randomUUID()}`;
      ids.add(id);
      return probeXml(id, types);
    });
    const send = (buf: Buffer, port: number, host: string) =>
      new Promise<void>((resolve) => sock.send(buf, port, host, (e) => (e && errors.push(e), resolve())));
    const sends: Promise<void>[] = [];
    for (const t of opts.unicastTargets ?? []) for (const p of probes) sends.push(send(p, t.port, t.host));
    if (opts.multicast ?? true) {
      sock.setMulticastTTL(1);
      if (opts.multicastInterface) sock.setMulticastInterface(opts.multicastInterface);
      for (const p of probes) sends.push(send(p, opts.multicastPort ?? 3702, GROUP));
    }
    await Promise.all(sends);
    if (sends.length > 0 && errors.length === sends.length) throw new Error(`WS-Discovery: no probe could be sent (${errors[0].message})`);
    await new Promise((r) => setTimeout(r, opts.timeoutMs));
  } finally {
    await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
  return [...found.values()];
}
