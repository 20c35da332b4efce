import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const preferredCapabilitiesConfig = z.strictObject({}).describe('No settings.');
export type PreferredCapabilitiesConfig = z.output<typeof preferredCapabilitiesConfig>;

/** Score: the share of the task's preferred capabilities the agent has. */
export function preferredCapabilities(_config: PreferredCapabilitiesConfig = {}): RoutingPlugin {
  return {
    name: 'preferred-capabilities',
    score(task, agent) {
      if (task.preferred.length === 0) return 100;
      const held = task.preferred.filter((c) => agent.capabilities.has(c)).length;
      return (100 * held) / task.preferred.length;
    },
  };
}
