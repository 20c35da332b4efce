import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP endpoint on 127.0.0.1 that forwards to a unix socket (a Docker engine's), and can
 * be cut and restored: what a client sees when the network to its engine fails.
 */
export class LoopbackProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private readonly target: string;
  /** Connections are accepted and held, never answered: an engine that hangs. */
  private silent = false;

  constructor(target: string) {
    this.target = target;
  }

  /** From now on, accept connections but never answer them. */
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
      if (this.silent) return;
      const upstream = connect(this.target);
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
