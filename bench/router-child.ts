// The benchmark's side of bench/router-process.ts: start it, wait for its caches, ask
// for its timings, stop it.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { RouterReport, StallReport } from './router-process.ts';
import { IMAGE_NODE_FLAGS } from './support.ts';

export class RouterChild {
  readonly process: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(kubeconfig: string, namespace: string, qps: number, burst: number) {
    this.process = spawn(
      process.execPath,
      [
        ...IMAGE_NODE_FLAGS,
        path.join(import.meta.dirname, 'router-process.ts'),
        '--namespace',
        namespace,
        '--qps',
        String(qps),
        '--burst',
        String(burst),
      ],
      {
        env: { PATH: process.env.PATH ?? '', KUBECONFIG: kubeconfig },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    this.ready = new Promise((resolve, reject) => {
      const onMessage = (m: { type?: string }): void => {
        if (m.type !== 'ready') return;
        this.process.off('message', onMessage);
        resolve();
      };
      this.process.on('message', onMessage);
      this.process.once('exit', (code) => {
        reject(new Error(`the router process exited with ${String(code)} before it was ready`));
      });
    });
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`the router process was not ready within ${timeoutMs / 1000} s`));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  report(): Promise<RouterReport> {
    return this.ask<RouterReport>('report');
  }

  /** Its event loop delay and GC pauses since the last time it was asked. */
  stalls(): Promise<StallReport> {
    return this.ask<StallReport>('stalls');
  }

  private ask<T extends { type: string }>(type: T['type']): Promise<T> {
    return new Promise((resolve) => {
      const onMessage = (m: { type?: string }): void => {
        if (m.type !== type) return;
        this.process.off('message', onMessage);
        resolve(m as T);
      };
      this.process.on('message', onMessage);
      this.process.send({ type });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
