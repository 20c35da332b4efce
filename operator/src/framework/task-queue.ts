// The router's waiting tasks, kept from informer events (kube-scheduler's scheduling
// queue): active tasks are routed by the next cycle; a task no agent could take is parked
// until something that could change the answer happens; a task backing off waits for
// its time.
import type { TaskInfo } from './types.ts';

function sameRecord(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => a[k] === b[k]);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Whether routing could answer differently for `b` than for `a`. */
export function sameForRouting(a: TaskInfo, b: TaskInfo): boolean {
  return (
    a.key === b.key &&
    a.priority === b.priority &&
    a.queuedAt === b.queuedAt &&
    a.generation === b.generation &&
    a.affinity?.agent === b.affinity?.agent &&
    a.affinity?.contextKey === b.affinity?.contextKey &&
    sameList(a.required, b.required) &&
    sameList(a.preferred, b.preferred) &&
    sameRecord(a.labels, b.labels) &&
    sameRecord(a.annotations, b.annotations)
  );
}

export interface QueueSizes {
  readonly active: number;
  readonly parked: number;
  readonly backoff: number;
}

export class TaskQueue {
  private readonly active = new Map<string, TaskInfo>();
  /** In the order they were parked: a cycle parks in queue order, so the head goes first. */
  private readonly parked = new Map<string, TaskInfo>();
  private readonly backoff = new Map<string, { info: TaskInfo; at: number }>();

  /**
   * A task waiting from `at` (ms; 0: now), or with undefined one that is not waiting
   * (assigned, running, finished, deleted, or held while its assignment is written).
   * A parked task stays parked unless what routing reads of it changed.
   */
  set(key: string, info: TaskInfo | undefined, at = 0): void {
    if (info === undefined) {
      this.remove(key);
      return;
    }
    if (at > 0) {
      this.active.delete(key);
      this.parked.delete(key);
      this.backoff.set(key, { info, at });
      return;
    }
    this.backoff.delete(key);
    const parked = this.parked.get(key);
    if (parked !== undefined && sameForRouting(parked, info)) {
      this.parked.set(key, info);
      return;
    }
    this.parked.delete(key);
    this.active.set(key, info);
  }

  remove(key: string): void {
    this.active.delete(key);
    this.parked.delete(key);
    this.backoff.delete(key);
  }

  has(key: string): boolean {
    return this.active.has(key) || this.parked.has(key) || this.backoff.has(key);
  }

  /** Tasks whose backoff ended by `now` become active. */
  due(now: number): void {
    for (const [key, { info, at }] of this.backoff) {
      if (at > now) continue;
      this.backoff.delete(key);
      this.active.set(key, info);
    }
  }

  /** The tasks the next cycle routes; each must then be parked or set/removed. */
  takeActive(): TaskInfo[] {
    const tasks = [...this.active.values()];
    this.active.clear();
    return tasks;
  }

  /** No agent could take it: wait for a change that could help. */
  park(task: TaskInfo): void {
    if (this.backoff.has(task.key)) return;
    this.active.delete(task.key);
    this.parked.set(task.key, task);
  }

  /**
   * Something changed in `namespace` that could help parked tasks: the first `limit` of
   * those `fits` accepts become active again (all of them without a limit).
   */
  wake(namespace: string, fits: (task: TaskInfo) => boolean = () => true, limit = Infinity): number {
    let woken = 0;
    for (const [key, task] of this.parked) {
      if (woken >= limit) break;
      if (task.namespace !== namespace || !fits(task)) continue;
      this.parked.delete(key);
      this.active.set(key, task);
      woken++;
    }
    return woken;
  }

  /** Every parked task gets another look (changes no event announces: time, policies). */
  flush(): void {
    for (const [key, task] of this.parked) this.active.set(key, task);
    this.parked.clear();
  }

  get sizes(): QueueSizes {
    return { active: this.active.size, parked: this.parked.size, backoff: this.backoff.size };
  }
}
