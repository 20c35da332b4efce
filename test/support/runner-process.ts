import path from 'node:path';
import { JsonLogProcess } from './json-log-process.ts';

const main = path.resolve(import.meta.dirname, '../../runner/main.ts');

/**
 * The agent runner as its image runs it: `node runner/main.ts` in a process group of its
 * own (with the task commands it starts), so kill() takes the whole group down at once,
 * as a container's death or an OOM kill does.
 */
export class RunnerProcess extends JsonLogProcess {
  constructor(env: Record<string, string>) {
    super(main, [], { PATH: process.env.PATH ?? '', RUNNER_SHUTDOWN_GRACE_SECONDS: '2', ...env }, { detached: true });
  }

  /** Signals the runner and every process it started. */
  override kill(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // already gone
    }
  }
}
