// The wall screen's kiosk side without a browser: the setup link's code, and the Api's silent
// session renewal (on a 401) and its one-way switch to "revoked" (dashboard/api.ts, dashboard/kiosk.ts).
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { Api, ApiError } from '../../dashboard/api.js';
import { takeSetupCode } from '../../dashboard/kiosk.js';

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

/** A gateway stand-in: `routes` answers by "METHOD path", and every call is recorded with its bearer token. */
function fakeGateway(routes: Record<string, (auth: string | undefined, body: unknown) => [number, unknown]>): { calls: string[] } {
  const calls: string[] = [];
  globalThis.fetch = (async (url: string, init: RequestInit = {}) => {
    const key = `${init.method ?? 'GET'} ${url}`;
    const auth = (init.headers as Record<string, string> | undefined)?.authorization?.replace('Bearer ', '');
    calls.push(`${key}${auth ? ` [${auth}]` : ''}`);
    const [status, body] = routes[key]?.(auth, init.body ? JSON.parse(String(init.body)) : undefined) ?? [404, { error: 'not_found', message: key }];
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  return { calls };
}

const kioskApi = () => {
  const api = new Api();
  api.kiosk = { id: 'k0123456789ab', name: '大屏 1', secret: 'kd_secret' };
  api.session = { token: 'old', role: 'viewer', user: '大屏 1', expiresAt: new Date(Date.now() + 3600_000).toISOString() };
  return api;
};
const session = (token: string) => ({ token, role: 'viewer', expiresAt: new Date(Date.now() + 3600_000).toISOString(), kiosk: { id: 'k0123456789ab', name: '大屏 1' } });

describe('kiosk', () => {
  it('takes the setup code from the link fragment only', () => {
    assert.equal(takeSetupCode({ hash: '#kiosk-setup=ks_AbC-_9', pathname: '/', search: '' }), 'ks_AbC-_9');
    assert.equal(takeSetupCode({ hash: '', pathname: '/', search: '?kiosk-setup=ks_x' }), null);
    assert.equal(takeSetupCode({ hash: '#kiosk-setup=<script>', pathname: '/', search: '' }), null);
  });

  it('an expired session is renewed with the device secret and the request repeated; nobody is sent to the login form', async () => {
    const gw = fakeGateway({
      'GET /api/schools': (auth) => (auth === 'new' ? [200, { schools: [] }] : [401, { error: 'token_expired', message: 'expired' }]),
      'POST /api/kiosk/session': (_auth, body) => ((body as { secret: string }).secret === 'kd_secret' ? [200, session('new')] : [401, { error: 'bad_kiosk_secret', message: '' }]),
    });
    const api = kioskApi();
    let toLogin = 0;
    api.onUnauthorized(() => toLogin++);
    assert.deepEqual(await api.schools(), { schools: [] });
    assert.deepEqual(gw.calls, ['GET /api/schools [old]', 'POST /api/kiosk/session', 'GET /api/schools [new]'], 'the secret goes in the body, never as a bearer or in a URL');
    assert.equal(api.session?.token, 'new');
    assert.equal(toLogin, 0);
  });

  it('a revoked kiosk turns to "revoked" once: listeners told, secret and session dropped, the request refused', async () => {
    fakeGateway({
      'GET /api/schools': () => [401, { error: 'kiosk_revoked', message: 'revoked' }],
      'POST /api/kiosk/session': () => [401, { error: 'kiosk_revoked', message: 'revoked' }],
    });
    const api = kioskApi();
    let revoked = 0;
    let toLogin = 0;
    api.onKioskRevoked(() => revoked++);
    api.onUnauthorized(() => toLogin++);
    await assert.rejects(api.schools(), (err: unknown) => err instanceof ApiError && err.code === 'kiosk_revoked');
    assert.equal(revoked, 1);
    assert.equal(toLogin, 0, 'never the login form');
    assert.deepEqual(api.kiosk, { id: 'k0123456789ab', name: '大屏 1', revoked: true });
    assert.equal(api.session, null);
    assert.equal(api.isKiosk, false);
  });

  it('a gateway out of reach during renewal is a network error (retry), not a revocation', async () => {
    globalThis.fetch = (async (url: string) => {
      if (String(url).includes('/api/kiosk/session')) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ error: 'token_expired', message: '' }), { status: 401, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const api = kioskApi();
    await assert.rejects(api.schools(), (err: unknown) => err instanceof ApiError && err.status === 0);
    assert.equal(api.isKiosk, true, 'still a kiosk');
  });
});
