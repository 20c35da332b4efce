import { execFile, spawnSync } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

// The hack/ scripts as the test global setups call them: each prints its one result as
// the last line of stdout, and its progress on stderr.

export const repo = path.resolve(import.meta.dirname, '../..');

export interface Result {
  ok: boolean;
  stdout: string;
}

// Progress (builds, readiness waits) goes to stderr so a cold start is visibly alive.
export function run(script: string, args: string[], env: NodeJS.ProcessEnv = process.env): Result {
  const r = spawnSync(path.join(repo, 'hack', script), args, {
    cwd: repo,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return { ok: r.status === 0, stdout: r.stdout.trim() };
}

export function must(script: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = run(script, args, env);
  if (!r.ok) throw new Error(`hack/${script} ${args.join(' ')} failed; see the log lines above`);
  // The scripts print their one result as the last line of stdout.
  return r.stdout.split('\n').pop() ?? '';
}

// Teardown runs while vitest closes its workers, so it must not block the event loop,
// and it stays quiet so the run ends with vitest's summary (its output shows on failure).
export async function stop(script: string): Promise<void> {
  try {
    await promisify(execFile)(path.join(repo, 'hack', script), ['stop'], { cwd: repo });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    process.stderr.write(`hack/${script} stop failed:\n${stderr ?? String(err)}\n`);
  }
}

export interface LocalPlane {
  kubeconfig: string;
  dockerHost: string;
  /** Path of the kubectl binary matching the API server. */
  kubectl: string;
  /** Stops what `startLocalPlane` started (nothing with AO_KEEP_RUNNING=1). */
  teardown: () => Promise<void>;
}

/**
 * Ensures a real control plane, a Docker engine and the test images: reuses running ones,
 * starts what is missing, and its teardown stops only what it started (unless
 * AO_KEEP_RUNNING=1, handy while iterating on a test).
 */
export async function startLocalPlane(): Promise<LocalPlane> {
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
    return { kubeconfig, dockerHost, kubectl: path.join(must('control-plane.sh', ['bin']), 'kubectl'), teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}
