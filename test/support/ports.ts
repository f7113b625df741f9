import { readFileSync } from 'node:fs';
import net from 'node:net';
import { waitFor } from './wait.js';

/**
 * The lowest port the kernel hands out as the local port of an outgoing connection (Linux
 * `ip_local_port_range`). A port below it is never taken by a client's connection, so a gateway
 * restarted on "its" port after kill -9 cannot find it taken by a device reconnecting elsewhere
 * (seen once in CI: EADDRINUSE on a port the kernel had picked from the ephemeral range).
 */
const EPHEMERAL_LOW = (() => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
})();
const LOWEST = 10_000;

/**
 * A TCP port on 127.0.0.1, free a moment ago, below the ephemeral range: picked at random and
 * bound to check (another listener could still take it in between, which is rare enough for
 * tests). Falls back to a kernel-chosen port when none is found.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50 && EPHEMERAL_LOW > LOWEST + 100; i++) {
    const port = LOWEST + Math.floor(Math.random() * (EPHEMERAL_LOW - LOWEST));
    if (await bindable(port)) return port;
  }
  return kernelPort();
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
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
