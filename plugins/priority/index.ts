import { z } from 'zod';
import { definePlugin, type TaskInfo } from '../../operator/src/framework/index.ts';

export const MAX_PRIORITY = 1000;

export const priorityConfig = z
  .strictObject({
    agingSecondsPerPoint: z
      .int()
      .min(1)
      .max(86400)
      .default(10)
      .describe('Seconds of waiting that raise a task’s priority by one point, so low priority never starves.'),
  })
  .describe('Queue order: priority, aged by waiting time.');

/** spec.priority plus one point per agingSecondsPerPoint waited, at most MAX_PRIORITY. */
export function effectivePriority(task: TaskInfo, now: number, agingSecondsPerPoint: number): number {
  const aged = Math.floor(Math.max(0, now - task.queuedAt) / (agingSecondsPerPoint * 1000));
  return Math.min(MAX_PRIORITY, task.priority + aged);
}

/** Queue sort: higher effective priority first, then first in first out, then by key. */
export const priority = definePlugin({
  name: 'priority',
  config: priorityConfig,
  routing: ({ agingSecondsPerPoint: aging }) => ({
    queueSort(a, b, now) {
      return (
        effectivePriority(b, now, aging) - effectivePriority(a, now, aging) ||
        a.queuedAt - b.queuedAt ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
      );
    },
  }),
});
