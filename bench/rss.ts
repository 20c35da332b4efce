// Resident memory of processes over a run, read from /proc (Linux), for the RSS charts.
import { readFileSync } from 'node:fs';
import type { Series } from './svg-chart.ts';

/** A process's resident set in bytes; undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of named processes every `intervalMs` until stopped. */
export class RssSampler {
  private readonly t0 = performance.now();
  private readonly samples = new Map<string, [number, number][]>();
  private readonly pids = new Map<string, { pid: number; origin: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 1000) {
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * Follows a process under a name (a new pid under the same name continues its series).
   * Its times count from the sampler's start, or with `fromNow` from this call (to lay
   * processes started one after another over each other).
   */
  watch(name: string, pid: number | undefined, fromNow = false): void {
    if (pid === undefined) return;
    this.pids.set(name, { pid, origin: fromNow ? performance.now() : this.t0 });
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The largest sample of one process, in bytes. */
  peak(name: string): number {
    return Math.max(0, ...(this.samples.get(name) ?? []).map(([, mb]) => mb * 1024 * 1024));
  }

  /** One series per process: [seconds since the sampler started, MB]. */
  series(): Series[] {
    return [...this.samples].map(([name, points]) => ({ name, points }));
  }

  private sample(): void {
    for (const [name, { pid, origin }] of this.pids) {
      const t = (performance.now() - origin) / 1000;
      const rss = rssBytes(pid);
      if (rss === undefined) continue;
      const list = this.samples.get(name) ?? [];
      list.push([Math.round(t * 10) / 10, Math.round((rss / 1024 / 1024) * 10) / 10]);
      this.samples.set(name, list);
    }
  }
}
