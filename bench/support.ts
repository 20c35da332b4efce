import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Histogram, Registry } from 'prom-client';
import { RestClient } from '../operator/src/runtime/rest/client.ts';

export const repo = path.resolve(import.meta.dirname, '..');
/** Benchmarks measure the operator as shipped: the compiled entry point. */
export const OPERATOR_ENTRY = path.join(repo, 'dist/operator/src/main.js');

function hack(script: string, ...args: string[]): string {
  return execFileSync(path.join(repo, 'hack', script), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Starts (or reuses) the local control plane, installs the CRDs; its kubeconfig and a client. */
export function controlPlane(options: { compiledOperator?: boolean } = {}): { kubeconfig: string; client: RestClient } {
  if (options.compiledOperator && !existsSync(OPERATOR_ENTRY)) throw new Error(`${OPERATOR_ENTRY} is missing: run npm run build (make bench does)`);
  const kubeconfig = hack('control-plane.sh', 'start');
  const kubectl = path.join(hack('control-plane.sh', 'bin'), 'kubectl');
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '-f', path.join(repo, 'crds')], { stdio: 'ignore' });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kubeconfig, client: new RestClient(kc) };
}

/** The p-th percentile (nearest rank) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/**
 * The young generation V8 gives the operator under the chart's memory limit (512Mi):
 * 1 MB semi-spaces. Without a limit, on a large host, they grow to 64 MB during the
 * initial list and stay for minutes, which measures the host rather than the operator.
 */
const OPERATOR_NODE_FLAGS = ['--max-semi-space-size=1'];

/** The compiled operator as a child process, watching one namespace, without leader election or metrics. */
export function spawnOperator(kubeconfig: string, namespace: string, env: Record<string, string>, stdio: StdioOptions = ['ignore', 'inherit', 'inherit']): ChildProcess {
  return spawn(process.execPath, [...OPERATOR_NODE_FLAGS, OPERATOR_ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      AO_WATCH_NAMESPACES: namespace,
      AO_LEADER_ELECT: 'false',
      AO_HEALTH_PROBE_BIND_ADDRESS: '0',
      AO_METRICS_BIND_ADDRESS: '0',
      AO_LOG_LEVEL: 'error',
      ...env,
    },
    stdio,
  });
}

/**
 * Every value a prom-client histogram of `registry` observes from now on, with its labels:
 * exact percentiles instead of bucket estimates. Bench-only: it wraps the metric's
 * observe method in place.
 */
export function recordObservations(registry: Registry, name: string): { labels: Record<string, string | number>; value: number }[] {
  const metric = registry.getSingleMetric(name) as Histogram | undefined;
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const samples: { labels: Record<string, string | number>; value: number }[] = [];
  const observe = metric.observe.bind(metric) as (a: unknown, b?: unknown) => void;
  metric.observe = ((a: unknown, b?: unknown) => {
    if (typeof a === 'number') samples.push({ labels: {}, value: a });
    else samples.push({ labels: a as Record<string, string | number>, value: Number(b) });
    observe(a, b);
  });
  return samples;
}

/** The 1, 5 and 15 minute load averages, for the record next to a figure. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
