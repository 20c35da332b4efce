import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of an admin kubeconfig for the real API server the tests run against. */
    kubeconfig: string;
    /** DOCKER_HOST of the engine the docker-runtime tests use (unix:// or tcp://127.0.0.1). */
    dockerHost: string;
  }
}

const repo = path.resolve(import.meta.dirname, '../..');

interface Result {
  ok: boolean;
  stdout: string;
}

// Progress (builds, readiness waits) goes to stderr so a cold start is visibly alive.
function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(path.join(repo, 'hack', script), args, {
    cwd: repo,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { ok: r.status === 0, stdout: r.stdout.trim() };
}

function must(script: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = run(script, args, env);
  if (!r.ok) throw new Error(`hack/${script} ${args.join(' ')} failed; see the log lines above`);
  // The scripts print their one result as the last line of stdout.
  return r.stdout.split('\n').pop() ?? '';
}

/**
 * Ensures a real control plane and Docker engine are up for the run: reuses running
 * ones, starts what is missing, and on teardown stops only what it started (unless
 * AO_KEEP_RUNNING=1, handy while iterating on a test).
 */
export default function setup(project: TestProject): () => void {
  const planeWasUp = run('control-plane.sh', ['status']).ok;
  const dockerWasUp = run('docker.sh', ['status']).ok;
  const teardown = (): void => {
    if (process.env.AO_KEEP_RUNNING === '1') return;
    if (!dockerWasUp) run('docker.sh', ['stop']);
    if (!planeWasUp) run('control-plane.sh', ['stop']);
  };
  try {
    const kubeconfig = must('control-plane.sh', ['start']);
    const dockerHost = must('docker.sh', ['start']);
    must('images.sh', [], { ...process.env, DOCKER_HOST: dockerHost });
    project.provide('kubeconfig', kubeconfig);
    project.provide('dockerHost', dockerHost);
  } catch (err) {
    teardown();
    throw err;
  }
  return teardown;
}
