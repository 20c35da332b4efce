import { execFileSync, spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Histogram, Registry } from 'prom-client';
import * as image from '../hack/image-entrypoints.ts';
import { RestClient } from '../operator/src/runtime/rest/client.ts';

export const repo = path.resolve(import.meta.dirname, '..');
/**
 * Benchmarks measure the operator and the runner as shipped: the compiled entry points,
 * with the images' Node flags. BENCH_OPERATOR_ENTRY and BENCH_RUNNER_ENTRY point at
 * another build (say, main's, compiled with `tsc --outDir`) to measure before and after a
 * change on the same plane in one sitting.
 */
export const OPERATOR_ENTRY = path.resolve(process.env.BENCH_OPERATOR_ENTRY ?? image.OPERATOR_ENTRY);
export const RUNNER_ENTRY = path.resolve(process.env.BENCH_RUNNER_ENTRY ?? image.RUNNER_ENTRY);
export const { IMAGE_NODE_FLAGS } = image;

/** Runs a hack/ script; its last line of stdout is its answer, progress goes to stderr. */
export function hack(script: string, ...args: string[]): string {
  return execFileSync(path.join(repo, 'hack', script), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** Starts (or reuses) the local control plane, installs the CRDs; its kubeconfig and a client. */
export function controlPlane(options: { compiledOperator?: boolean } = {}): { kubeconfig: string; client: RestClient } {
  if (options.compiledOperator && !existsSync(OPERATOR_ENTRY))
    throw new Error(`${OPERATOR_ENTRY} is missing: run npm run build (make bench does)`);
  const kubeconfig = hack('control-plane.sh', 'start');
  const kubectl = path.join(hack('control-plane.sh', 'bin'), 'kubectl');
  // This checkout's CRDs win over another's (the plane is shared; each run installs its own, as the tests do).
  const crds = path.join(repo, 'crds');
  execFileSync(
    kubectl,
    ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--force-conflicts', '--field-manager=agent-orchestrator-bench', '-f', crds],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', '-f', crds], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return { kubeconfig, client: new RestClient(kc) };
}

/** The pid of a control-plane component (kube-scheduler, kube-apiserver, ...), from the file hack/control-plane.sh keeps. */
export function planePid(component: string): number | undefined {
  const state = process.env.AO_STATE_DIR ?? path.join(process.env.TMPDIR ?? '/tmp', 'agent-orchestrator');
  try {
    return Number(readFileSync(path.join(state, 'control-plane/pids', `${component}.pid`), 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** The compiled operator as a child process, watching one namespace, without leader election or metrics. */
export function spawnOperator(
  kubeconfig: string,
  namespace: string,
  env: Record<string, string>,
  stdio: StdioOptions = ['ignore', 'inherit', 'inherit'],
): ChildProcess {
  return spawn(process.execPath, [...IMAGE_NODE_FLAGS, OPERATOR_ENTRY], {
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
  metric.observe = (a: unknown, b?: unknown) => {
    if (typeof a === 'number') samples.push({ labels: {}, value: a });
    else samples.push({ labels: a as Record<string, string | number>, value: Number(b) });
    observe(a, b);
  };
  return samples;
}

/** A knob: the command-line flag when given, else the environment variable, else the default. */
export function knob(env: string, fallback: string): string {
  return process.env[env] ?? fallback;
}

// bench/cycle.ts takes these from here (a result file would carry the load average as numbers: bench/results.ts).
export { percentile } from './stats.ts';

/** The 1, 5 and 15 minute load averages, for the record next to a figure. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
