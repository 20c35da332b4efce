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

