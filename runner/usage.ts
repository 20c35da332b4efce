import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Clock } from '../operator/src/runtime/clock.ts';
import { messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { Agents } from './resources.ts';
import { rfc3339 } from '../operator/src/core/timestamp.ts';

/** CPU time used so far (µs) and memory held now (bytes), and where they were read. */
export interface Sample {
  readonly cpuMicros: number;
  readonly memoryBytes: number;
  readonly source: 'cgroup' | 'process';
}

/** usage_usec from a cgroup v2 cpu.stat file, or undefined. */
export function cpuStatMicros(text: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('usage_usec '));
  const value = line === undefined ? Number.NaN : Number(line.slice('usage_usec '.length));
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The container's figures from its cgroup (v2: the whole container or Pod, which is what
 * docker stats and metrics.k8s.io read), else the runner process's own.
 */
export function sample(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): Sample {
  try {
    const cpu = cpuStatMicros(read('/sys/fs/cgroup/cpu.stat'));
    const memory = Number(read('/sys/fs/cgroup/memory.current').trim());
    if (cpu !== undefined && Number.isFinite(memory)) return { cpuMicros: cpu, memoryBytes: memory, source: 'cgroup' };
  } catch {
    // No cgroup v2 files (cgroup v1, or not in a container): the process's figures.
  }
  const cpu = process.cpuUsage();
  return { cpuMicros: cpu.user + cpu.system, memoryBytes: process.memoryUsage.rss(), source: 'process' };
}

/** Millicores used between two samples `elapsedMs` apart. */
export function millicores(before: Sample, after: Sample, elapsedMs: number): number {
  if (elapsedMs <= 0 || after.cpuMicros < before.cpuMicros) return 0;
  return Math.round((after.cpuMicros - before.cpuMicros) / elapsedMs);
}

export interface UsageReporterOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  sample?: () => Sample;
}

/**
 * Writes the agent's resource usage to its status.resources once per interval (one merge
 * patch, never one per heartbeat): CPU as millicores over the interval, memory now.
 */
export async function reportUsage(o: UsageReporterOptions, signal: AbortSignal): Promise<void> {
  const take = o.sample ?? (() => sample());
  // A function, so that the checks after each await read the signal again.
  const stopped = (): boolean => signal.aborted;
  let before = take();
  let at = o.clock.now();
  while (!stopped()) {
    await o.clock.sleep(o.intervalMs, signal);
    if (stopped()) return;
    const now = o.clock.now();
    const after = take();
    const resources = {
      cpuMillicores: millicores(before, after, now - at),
      memoryBytes: after.memoryBytes,
      source: after.source,
      observedAt: rfc3339(now),
    };
    before = after;
    at = now;
    try {
      await o.client.request('PATCH', `${objectPath(Agents, o.namespace, o.agent)}/status`, {
        contentType: 'application/merge-patch+json',
        body: { status: { resources } },
        signal,
      });
    } catch (err) {
      if (!stopped()) o.logger.warn({ err: messageOf(err) }, 'could not report resource usage; trying again next interval');
    }
  }
}
