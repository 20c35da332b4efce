// The compiled operator as a child process, with its health probe on a loopback port of
// its own so the benchmark can tell when it is ready (caches synced), and its pid for
// memory readings and for killing it.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { sleep } from './load.ts';
import { spawnOperator } from './support.ts';

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no loopback port');
  return address.port;
}

export class OperatorChild {
  readonly process: ChildProcess;
  readonly startedAt = performance.now();
  private readonly probe: string;
  readonly exited: Promise<void>;

  private constructor(process: ChildProcess, probe: string) {
    this.process = process;
    this.probe = probe;
    this.exited = new Promise((resolve) =>
      process.once('exit', () => {
        resolve();
      }),
    );
  }

  /** Starts the operator on one namespace; `env` adds or overrides its settings (AO_*). */
  static async start(kubeconfig: string, namespace: string, env: Record<string, string> = {}): Promise<OperatorChild> {
    const probe = `127.0.0.1:${await freePort()}`;
    return new OperatorChild(spawnOperator(kubeconfig, namespace, { AO_HEALTH_PROBE_BIND_ADDRESS: probe, ...env }), probe);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Waits for /readyz to answer 200; milliseconds from the process start. */
  async waitReady(timeoutMs = 300_000): Promise<number> {
    const deadline = this.startedAt + timeoutMs;
    for (;;) {
      if (!this.alive)
        throw new Error(`the operator exited (${String(this.process.exitCode ?? this.process.signalCode)}) before it was ready`);
      if (performance.now() > deadline) throw new Error(`the operator was not ready within ${timeoutMs / 1000} s`);
      const res = await fetch(`http://${this.probe}/readyz`).catch(() => undefined);
      if (res?.status === 200) return performance.now() - this.startedAt;
      await sleep(20);
    }
  }

  /** Sends a signal and waits for the exit (SIGKILL after 30 s). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}
