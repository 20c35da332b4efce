import { error, type Status } from './status.ts';
import type { ExtensionPoint, PluginFailure, TaskInfo } from './types.ts';

/** How plugin calls are timed and bounded; without a timer nothing is timed. */
export interface GuardOptions {
  /** A monotonic clock in ms (performance.now). */
  readonly timer?: () => number;
  /** A call (or a Filter pass over a task's agents) slower than this fails. Default 100 ms. */
  readonly budgetMs?: number;
  /** Receives every timed call, for the per-plugin latency histogram. */
  readonly observe?: (plugin: string, point: ExtensionPoint, seconds: number) => void;
}

export const DEFAULT_BUDGET_MS = 100;

/** Marks a contained failure; the Status that explains it is Guard.failed. */
export const FAILED: unique symbol = Symbol('plugin failed');

/**
 * Runs plugin code so that a plugin that throws or runs long fails alone: the caller
 * turns FAILED into an Error status for that task, and the failure is collected for the
 * host to report. A call cannot be interrupted, so a slow one is judged when it returns
 * and its answer discarded, which stops a slow plugin from deciding anything.
 */
export class Guard {
  readonly failures: PluginFailure[] = [];
  failed: Status = error('');
  private readonly o: GuardOptions;
  private readonly budgetMs: number;

  constructor(options: GuardOptions = {}) {
    this.o = options;
    this.budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
  }

  run<T>(plugin: string, point: ExtensionPoint, task: TaskInfo | undefined, fn: () => T): T | typeof FAILED {
    const timer = this.o.timer;
    const start = timer?.();
    let value: T;
    try {
      value = fn();
    } catch (err) {
      return this.fail(plugin, point, task, `threw: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (timer !== undefined && start !== undefined) {
      const ms = timer() - start;
      this.o.observe?.(plugin, point, ms / 1000);
      if (ms > this.budgetMs) return this.fail(plugin, point, task, `ran ${Math.round(ms)} ms, past its budget of ${this.budgetMs} ms`);
    }
    return value;
  }

  private fail(plugin: string, point: ExtensionPoint, task: TaskInfo | undefined, message: string): typeof FAILED {
    this.failures.push({ plugin, point, ...(task ? { task: task.key } : {}), message });
    this.failed = { code: 'Error', plugin, reason: `${point} ${message}` };
    return FAILED;
  }
}
