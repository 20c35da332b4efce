import type { CycleState, TaskInfo } from './types.ts';

export type TaskOrder = (a: TaskInfo, b: TaskInfo) => number;

export interface TaskQueue {
  /** The next task to route, or undefined when every task has had its turn. */
  next(): TaskInfo | undefined;
}

/**
 * Orders the cycle's tasks. With fair share, namespaces take turns: the one given the
 * fewest assignments so far in this cycle goes next (read live from the state, so a
 * namespace whose tasks stay pending keeps its turn), and one busy namespace cannot
 * push every other namespace's work to the end of the cycle.
 */
export function createTaskQueue(
  tasks: readonly TaskInfo[],
  order: TaskOrder,
  fairShare: boolean,
  state: CycleState,
): TaskQueue {
  const sorted = [...tasks].sort(order);
  if (!fairShare) {
    let i = 0;
    return { next: () => sorted[i++] };
  }
  const queues = new Map<string, { tasks: TaskInfo[]; at: number }>();
  for (const task of sorted) {
    const q = queues.get(task.namespace);
    if (q) q.tasks.push(task);
    else queues.set(task.namespace, { tasks: [task], at: 0 });
  }
  return {
    next() {
      let best: { ns: string; head: TaskInfo; served: number } | undefined;
      for (const [ns, q] of queues) {
        const head = q.tasks[q.at];
        if (head === undefined) continue;
        const served = state.assignedToNamespace(ns);
        if (best === undefined || served < best.served || (served === best.served && order(head, best.head) < 0)) {
          best = { ns, head, served };
        }
      }
      if (best === undefined) return undefined;
      const q = queues.get(best.ns);
      if (q) q.at++;
      return best.head;
    },
  };
}
