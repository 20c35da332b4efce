import { createServer, connect, type Server, type Socket } from 'node:net';

/** Where a proxy forwards to: a unix socket path, or a TCP port on loopback. */
export type ProxyTarget = string | { port: number; host?: '127.0.0.1' | '::1' };

/**
 * A TCP endpoint on 127.0.0.1 that forwards to a unix socket (a Docker engine's) or to a
 * loopback TCP port (an API server's), and can be cut, made to hang and restored: what a
 * client sees when the network to its server fails. Bytes pass through untouched, so TLS
 * ends at the target (a certificate for 127.0.0.1 fits the proxy's address too).
 */
export class LoopbackProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly target: ProxyTarget;
  /** Connections are accepted and held, never answered: an engine that hangs. */
  private silent = false;

  constructor(target: ProxyTarget) {
    if (typeof target === 'object' && !(Number.isInteger(target.port) && target.port > 0 && target.port < 65536))
      throw new Error(`LoopbackProxy target.port: ${String(target.port)} is not a TCP port; give 1-65535`);
    this.target = target;
  }

  /** The port it listens on (0 before the first open). */
  get listenPort(): number {
    return this.port;
  }

  /** From now on, accept connections but never answer them (the open ones are dropped). */
  hang(): void {
    this.silent = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** Forwards again: starts listening (on the port it had, after a cut); resolves with tcp://127.0.0.1:<port>. */
  async open(): Promise<string> {
    this.silent = false;
    if (this.server) return `tcp://127.0.0.1:${this.port}`;
    const server = createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => client.destroy());
      if (this.silent) return;
      const t = this.target;
      const upstream = typeof t === 'string' ? connect(t) : connect(t.port, t.host ?? '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    this.server = server;
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    return `tcp://127.0.0.1:${this.port}`;
  }

  /** Refuses new connections and drops the open ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server)
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
  }
}
