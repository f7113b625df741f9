import net from 'node:net';
import { waitFor } from './wait.js';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it; we close it again).
 * Another process could grab it in between, which is rare enough for tests.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('freePort: could not read the bound address'));
        return;
      }
      const { port } = addr;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs or when `abort()` says so. */
export async function waitForTcp(
  port: number,
  opts: { host?: string; timeoutMs?: number; intervalMs?: number; abort?: () => Error | undefined } = {},
): Promise<void> {
  const host = opts.host ?? '127.0.0.1';
  const accepts = () =>
    new Promise<boolean>((resolve) => {
      const sock = net.connect({ host, port });
      sock.setTimeout(1000);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('timeout', () => {
        sock.destroy();
        resolve(false);
      });
      sock.once('error', () => resolve(false));
    });
  await waitFor(
    `something to accept TCP on ${host}:${port}`,
    async () => {
      const aborted = opts.abort?.();
      if (aborted) throw aborted;
      return accepts();
    },
    { timeoutMs: opts.timeoutMs ?? 10_000, intervalMs: opts.intervalMs ?? 50 },
  );
}
