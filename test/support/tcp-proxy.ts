/**
 * A TCP proxy between a client (the browser) and a server (the gateway) that a test can cut and
 * mend: a network cut made on the wire, which browsers' offline emulation does not do to a socket
 * that is already open.
 */
import net from 'node:net';
import { freePort } from './ports.js';

export interface TcpProxy {
  /** http://127.0.0.1:{port} of the proxy */
  url: string;
  port: number;
  /** Drops every open connection (as a pulled cable does, with a reset) and refuses new ones until mend(). */
  cut(): void;
  mend(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const open = new Set<net.Socket>();
  let severed = false;
  const server = net.createServer((client) => {
    if (severed) return client.resetAndDestroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    cut() {
      severed = true;
      for (const s of open) s.resetAndDestroy();
    },
    mend() {
      severed = false;
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
