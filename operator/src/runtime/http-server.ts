import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
}

export type Routes = Readonly<Record<string, () => Promise<Reply> | Reply>>;

export interface Serving {
  /** host:port actually bound (the port is real even when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

/** Splits ":8080", "127.0.0.1:0" or "[::1]:9090"; undefined host means every interface. */
export function parseBindAddress(bind: string): { host: string | undefined; port: number } {
  const i = bind.lastIndexOf(':');
  const host = bind.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? undefined : host, port: Number(bind.slice(i + 1)) };
}

/** A tiny GET-only HTTP server for probes and metrics. "0" serves nothing. */
export async function serve(bind: string, routes: Routes, logger: Logger): Promise<Serving | undefined> {
  if (bind === '0') return undefined;
  const { host, port } = parseBindAddress(bind);
  const server: Server = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://localhost').pathname];
    if (req.method !== 'GET' || !route) {
      res.writeHead(req.method === 'GET' ? 404 : 405).end();
      return;
    }
    Promise.resolve()
      .then(route)
      .then(
        (reply) => {
          res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'text/plain; charset=utf-8' }).end(reply.body);
        },
        (err: unknown) => {
          logger.error({ err: String(err), path: req.url }, 'http handler failed');
          res.writeHead(500).end();
        },
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const info = server.address() as AddressInfo;
  const address = `${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
  logger.info({ address, paths: Object.keys(routes) }, 'serving');
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
