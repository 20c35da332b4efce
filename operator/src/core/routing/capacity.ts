import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const capacityConfig = z.strictObject({}).describe('No settings.');
export type CapacityConfig = z.output<typeof capacityConfig>;

/** Filter: the agent has a free slot, counting tasks reserved earlier in this cycle. */
export function capacity(_config: CapacityConfig = {}): RoutingPlugin {
  return {
    name: 'capacity',
    filter(_task, agent, state) {
      return state.load(agent) >= agent.maxConcurrentTasks ? { ok: false, reason: 'at capacity' } : { ok: true };
    },
  };
}
