/**
 * WS-Discovery against the simulator over real UDP on loopback: unicast probes to its port, and
 * multicast to 239.255.255.250 on the loopback interface when this machine allows it (nothing
 * leaves 127.0.0.1 either way).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { startOnvifSim, endpointUrn, type OnvifSim } from '../../scripts/onvif-sim/index.js';
import { discover, parseProbeMatches, probeLiveness } from '../../gateway/ingest/onvif/index.js';

let sim: OnvifSim;
let multicastPort: number;

/** A free UDP port (for the multicast group port, so parallel runs do not share 3702). */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  multicastPort = await freeUdpPort();
  sim = await startOnvifSim({
    cameras: [{ id: 'known-1' }, { id: 'known-2' }, { id: 'stranger-9' }],
    discovery: { port: 0, multicast: true, multicastPort, multicastInterface: '127.0.0.1' },
  });
});
after(async () => {
  await sim.close();
});

test('a unicast probe finds every simulated camera, with its device service XAddr and scopes', async () => {
  const found = await discover({ timeoutMs: 400, multicast: false, unicastTargets: [{ host: '127.0.0.1', port: sim.discoveryPort! }], bindAddress: '127.0.0.1' });
  assert.equal(found.length, 3);
  const stranger = found.find((d) => d.xaddrs.includes(sim.deviceUrl('stranger-9')));
  assert.ok(stranger, JSON.stringify(found));
  assert.equal(stranger.urn, endpointUrn('stranger-9'));
  assert.ok(stranger.scopes.includes('onvif://www.onvif.org/name/stranger-9'));
  assert.ok(stranger.types?.includes('dn:NetworkVideoTransmitter'));
  // What discovery found is a camera we can probe.
  assert.ok((await probeLiveness({ id: 'stranger-9', url: stranger.xaddrs[0] }, 1000)).ok);
});

test('discovery lists the camera the registry does not know', async () => {
  const registry = new Set([sim.deviceUrl('known-1'), sim.deviceUrl('known-2')]);
  const found = await discover({ timeoutMs: 300, multicast: false, unicastTargets: [{ host: '127.0.0.1', port: sim.discoveryPort! }], bindAddress: '127.0.0.1' });
  const unknown = found.filter((d) => !d.xaddrs.some((x) => registry.has(x)));
  assert.deepEqual(unknown.map((d) => d.xaddrs[0]), [sim.deviceUrl('stranger-9')]);
});

test('a camera that is down does not answer discovery', async () => {
  sim.setDown('known-2', 'reset');
  const found = await discover({ timeoutMs: 300, multicast: false, unicastTargets: [{ host: '127.0.0.1', port: sim.discoveryPort! }], bindAddress: '127.0.0.1' });
  sim.setDown('known-2', false);
  assert.equal(found.length, 2);
  assert.ok(!found.some((d) => d.xaddrs.includes(sim.deviceUrl('known-2'))));
});

test('multicast probe on the loopback interface (skipped where loopback multicast is unavailable)', async (t) => {
  if (!sim.multicast) return t.skip('the simulator could not join 239.255.255.250 on 127.0.0.1');
  const found = await discover({ timeoutMs: 400, multicast: true, multicastInterface: '127.0.0.1', multicastPort });
  assert.equal(found.length, 3, JSON.stringify(found));
});

test('answers to someone else’s probe are ignored; several ProbeMatch in one datagram are all read', () => {
  const m = (addr: string, x: string) =>
    `<d:ProbeMatch><a:EndpointReference><a:Address>${addr}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://a onvif://b</d:Scopes><d:XAddrs>${x}</d:XAddrs></d:ProbeMatch>`;
  const xml = (rel: string) => `<s:Envelope><s:Header><a:RelatesTo>${rel}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches>${m('urn:uuid:1', 'http://10.0.0.1/onvif/device_service')}${m('urn:uuid:2', 'http://10.0.0.2/onvif/device_service http://[fe80::1]/onvif/device_service')}</d:ProbeMatches></s:Body></s:Envelope>`;
  const ours = new Set(['urn:uuid:ours']);
  assert.equal(parseProbeMatches(xml('urn:uuid:theirs'), ours).length, 0);
  const got = parseProbeMatches(xml('urn:uuid:ours'), ours);
  assert.deepEqual(got.map((d) => d.urn), ['urn:uuid:1', 'urn:uuid:2']);
  assert.equal(got[1].xaddrs.length, 2);
  assert.deepEqual(got[0].scopes, ['onvif://a', 'onvif://b']);
});
