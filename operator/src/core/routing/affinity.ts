import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const affinityConfig = z.strictObject({}).describe('No settings.');
export type AffinityConfig = z.output<typeof affinityConfig>;

/**
 * Filter: a task pinned with affinity.agent fits only that agent (tasks and agents share
 * a namespace, so the name is enough). Score: 100 for an agent that already holds the
 * task's affinity.contextKey, so a conversation stays where its context is.
 */
export function affinity(_config: AffinityConfig = {}): RoutingPlugin {
  return {
    name: 'affinity',
    filter(task, agent) {
      const pinned = task.affinity?.agent;
      return pinned === undefined || pinned === agent.name
        ? { ok: true }
        : { ok: false, reason: `not the pinned agent ${pinned}` };
    },
    score(task, agent) {
      const key = task.affinity?.contextKey;
      return key !== undefined && agent.contextKeys.has(key) ? 100 : 0;
    },
  };
}
