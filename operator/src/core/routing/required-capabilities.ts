import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const requiredCapabilitiesConfig = z.strictObject({}).describe('No settings.');
export type RequiredCapabilitiesConfig = z.output<typeof requiredCapabilitiesConfig>;

/** Filter: the agent has every capability the task requires. */
export function requiredCapabilities(_config: RequiredCapabilitiesConfig = {}): RoutingPlugin {
  return {
    name: 'required-capabilities',
    filter(task, agent) {
      // Sorted so the reason for one agent is the same whatever order the task lists them.
      const missing = task.required.filter((c) => !agent.capabilities.has(c)).sort();
      const first = missing[0];
      return first === undefined ? { ok: true } : { ok: false, reason: `lack capability ${first}` };
    },
  };
}
