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

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat; undefined once it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields =
      readFileSync(`/proc/${String(pid)}/stat`, 'utf8')
        .split(') ')[1]
        ?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux this runs on (the kernel's ABI, not the timer frequency). */
const CLOCK_TICKS = 100;

export interface Settled {
  rssBytes: number;
  /** CPU the process used over the last window, in % of one core. */
  cpuPercent: number;
  /** RSS growth over the last window, MB per minute (a process that never settles keeps growing). */
  growthMbPerMinute: number;
  /** False when the deadline came first: the figures are the last ones read. */
  settled: boolean;
}

export interface ProcessSample {
  /** Milliseconds (performance.now()). */
  at: number;
  rss: number;
  /** CPU seconds used so far. */
  cpu: number;
}

/**
 * The verdict on samples taken oldest first: over the last `windowMs` (from the latest
 * sample at least that old to the newest), did RSS stay within 2%, how much CPU was used
 * and how fast did RSS grow. Undefined until the samples span a whole window.
 */
export function settledOver(samples: readonly ProcessSample[], windowMs: number): Settled | undefined {
  const last = samples.at(-1);
  if (!last) return undefined;
  const from = samples.findLastIndex((x) => x.at <= last.at - windowMs);
  const first = samples[from];
  if (!first) return undefined;
  const rss = samples.slice(from).map((x) => x.rss);
  const seconds = (last.at - first.at) / 1000;
  return {
    rssBytes: last.rss,
    cpuPercent: (100 * (last.cpu - first.cpu)) / seconds,
    growthMbPerMinute: ((last.rss - first.rss) / 2 ** 20 / seconds) * 60,
    settled: (Math.max(...rss) - Math.min(...rss)) / Math.max(...rss) < 0.02,
  };
}

/**
 * Waits until a process's memory has settled: RSS within 2% over `windowMs` (the caches'
 * garbage and the first reconciles of every object take a while after a start), with a
 * deadline. Returns that RSS, and the CPU the process used and how fast its RSS grew over
 * the last window: an "idle" operator that keeps a core busy or keeps growing is a finding too.
 */
export async function waitSettled(pid: number, timeoutMs = 30_000, windowMs = 5000): Promise<Settled> {
  const deadline = performance.now() + timeoutMs;
  const samples: ProcessSample[] = [];
  for (;;) {
    const rss = rssBytes(pid);
    const cpu = cpuSeconds(pid);
    if (rss === undefined || cpu === undefined) throw new Error(`process ${pid} is gone`);
    samples.push({ at: performance.now(), rss, cpu });
    const verdict = settledOver(samples, windowMs);
    if (verdict && (verdict.settled || performance.now() > deadline)) return verdict;
    await new Promise((resolve) => setTimeout(resolve, 500));
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
