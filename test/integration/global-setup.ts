import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of an admin kubeconfig for the real API server the tests run against. */
    kubeconfig: string;
    /** DOCKER_HOST of the engine the docker-runtime tests use (unix:// or tcp://127.0.0.1). */
    dockerHost: string;
    /** Path of the kubectl binary matching the API server. */
    kubectl: string;
    /** etcd's client URL (tests compact etcd through its HTTP gateway). */
    etcdUrl: string;
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

// Teardown runs while vitest closes its workers, so it must not block the event loop,
// and it stays quiet so the run ends with vitest's summary (its output shows on failure).
async function stop(script: string): Promise<void> {
  try {
    await promisify(execFile)(path.join(repo, 'hack', script), ['stop'], { cwd: repo });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    process.stderr.write(`hack/${script} stop failed:\n${stderr ?? String(err)}\n`);
  }
}

/**
 * Ensures a real control plane and Docker engine are up for the run: reuses running
 * ones, starts what is missing, and on teardown stops only what it started (unless
 * AO_KEEP_RUNNING=1, handy while iterating on a test).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const planeWasUp = run('control-plane.sh', ['status']).ok;
  const dockerWasUp = run('docker.sh', ['status']).ok;
  const teardown = async (): Promise<void> => {
    if (process.env.AO_KEEP_RUNNING === '1') return;
    if (!dockerWasUp) await stop('docker.sh');
    if (!planeWasUp) await stop('control-plane.sh');
  };
  try {
    const kubeconfig = must('control-plane.sh', ['start']);
    const dockerHost = must('docker.sh', ['start']);
    must('images.sh', [], { ...process.env, DOCKER_HOST: dockerHost });
    project.provide('kubeconfig', kubeconfig);
    project.provide('dockerHost', dockerHost);
    project.provide('kubectl', path.join(must('control-plane.sh', ['bin']), 'kubectl'));
    project.provide('etcdUrl', must('control-plane.sh', ['etcd-url']));
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
