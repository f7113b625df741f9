/**
 * WS-Discovery (2005/04, as ONVIF uses it) responder for the simulator: answers Probe messages with
 * one ProbeMatches datagram per camera that is up, sent back to the prober's address and port.
 * Unicast probes arrive on 127.0.0.1:`port`; with `multicast`, a second socket bound to
 * 239.255.255.250:`multicastPort` joins the group on the loopback interface only, so nothing leaves
 * the machine.
 */
import dgram from 'node:dgram';
import crypto from 'node:crypto';
import { escapeXml, textOf } from './soap.js';

export interface DiscoveryMatch {
  id: string;
  xaddrs: string[];
  scopes: string[];
}

export interface DiscoveryResponder {
  port: number;
  multicast: boolean;
  multicastPort: number;
  close(): Promise<void>;
}

export const WSD_GROUP = '239.255.255.250';

/** A stable urn:uuid per camera id (name-based, SHA-1). */
export function endpointUrn(id: string): string {
  const h = crypto.createHash('sha1').update(`campus-gateway-onvif-sim:${id}`).digest('hex');
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function probeMatches(relatesTo: string, m: DiscoveryMatch, seq: number): Buffer {
  return Buffer.from(
    `<?xml version="1.0" encoding="UTF-8"?>` +
      `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
      `xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">` +
      `<s:Header><a:MessageID>urn:uuid:${crypto.randomUUID()}</a:MessageID><a:RelatesTo>${escapeXml(relatesTo)}</a:RelatesTo>` +
      `<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>` +
      `<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</a:Action>` +
      `<d:AppSequence InstanceId="1" MessageNumber="${seq}"/></s:Header>` +
      `<s:Body><d:ProbeMatches><d:ProbeMatch><a:EndpointReference><a:Address>${endpointUrn(m.id)}</a:Address></a:EndpointReference>` +
      `<d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>${m.scopes.map(escapeXml).join(' ')}</d:Scopes>` +
      `<d:XAddrs>${m.xaddrs.map(escapeXml).join(' ')}</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>`,
    'utf8',
  );
}

/** Whether a Probe's Types (QNames, any prefix) ask for what we are; no Types means "anything". */
function typesMatch(types: string | undefined): boolean {
  if (!types || !types.trim()) return true;
  return types
    .trim()
    .split(/\s+/)
    .some((t) => /(^|:)(NetworkVideoTransmitter|Device)$/.test(t));
}

export async function startDiscoveryResponder(o: {
  host: string;
  port: number;
  multicast: boolean;
  multicastPort: number;
  multicastInterface: string;
  matches: () => DiscoveryMatch[];
  log: (msg: string) => void;
}): Promise<DiscoveryResponder> {
  let seq = 0;
  const uni = dgram.createSocket({ type: 'udp4' });
  const sockets: dgram.Socket[] = [uni];
  uni.on('error', (e) => o.log(`WS-Discovery unicast socket: ${e.message}`));
  await new Promise<void>((resolve, reject) => {
    uni.once('error', reject);
    uni.bind(o.port, o.host, () => {
      uni.off('error', reject);
      resolve();
    });
  });

  const onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo) => {
    const xml = msg.toString('utf8');
    if (!/<(?:[\w.-]+:)?Probe[\s>/]/.test(xml)) return; // Hello/Bye/Resolve from others: ignore
    const messageId = textOf(xml, 'MessageID');
    if (!messageId || !typesMatch(textOf(xml, 'Types'))) return;
    const all = o.matches();
    // One datagram per camera, as real devices answer; paced so a 2,000-camera answer does not
    // overflow the prober's receive buffer.
    let i = 0;
    const batch = () => {
      for (const end = Math.min(all.length, i + 64); i < end; i++) {
        uni.send(probeMatches(messageId, all[i], ++seq), rinfo.port, rinfo.address);
      }
      if (i < all.length) setTimeout(batch, 2);
    };
    batch();
  };
  uni.on('message', onMessage);

  let multicast = false;
  if (o.multicast) {
    const mc = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    try {
      await new Promise<void>((resolve, reject) => {
        mc.once('error', reject);
        mc.bind(o.multicastPort, WSD_GROUP, () => {
          mc.off('error', reject);
          resolve();
        });
      });
      mc.addMembership(WSD_GROUP, o.multicastInterface);
      mc.on('error', (e) => o.log(`WS-Discovery multicast socket: ${e.message}`));
      mc.on('message', onMessage);
      sockets.push(mc);
      multicast = true;
    } catch (e) {
      o.log(`WS-Discovery: multicast on ${o.multicastInterface} unavailable (${(e as Error).message}); unicast only`);
      mc.close();
    }
  }

  return {
    port: uni.address().port,
    multicast,
    multicastPort: o.multicastPort,
    close: () =>
      Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined),
  };
}
