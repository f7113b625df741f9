// `fetch` for a gateway with its own CA (TLS_CERT_FILE signed by a test CA): Node's built-in fetch
// takes no `ca`, so this is the same call over node:https, answering a real `Response`.
import https from 'node:https';

export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** A fetch that trusts `ca` (and only it); `client` presents a client certificate. */
export function fetchTrusting(ca: string | Buffer, client?: { cert: string | Buffer; key: string | Buffer }): Fetch {
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.request(
        new URL(String(input)),
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string> | undefined, ca, ...client, agent: false, signal: init.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
            const status = res.statusCode ?? 0;
            // A Response for 204/304 may have no body at all.
            resolve(new Response([204, 205, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers }));
          });
        },
      );
      req.on('error', reject);
      req.end(init.body as string | undefined);
    });
}
