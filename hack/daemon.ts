// The background processes of `make up` (the host operator, the kwok runners): detached
// from the shell that starts them, output in <dir>/<name>.log, pid in <dir>/<name>.pid.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `node args...` in the background; returns its pid and log file. */
export function startDaemon(dir: string, name: string, args: string[], env?: NodeJS.ProcessEnv): { pid: number; log: string } {
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, `${name}.log`);
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, out], detached: true, ...(env ? { env } : {}) });
  closeSync(out);
  child.unref();
  const pid = child.pid ?? -1;
  writeFileSync(path.join(dir, `${name}.pid`), String(pid));
  return { pid, log };
}

/**
 * SIGTERM, then waits for the exit (work in flight finishes, Leases are released, ports
 * are freed) so that a new one may start; SIGKILL past `graceMs`.
 */
export async function stopDaemon(dir: string, name: string, graceMs = 40_000): Promise<void> {
  const pidFile = path.join(dir, `${name}.pid`);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  rmSync(pidFile);
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
