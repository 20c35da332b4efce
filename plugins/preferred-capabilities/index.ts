import { z } from 'zod';
import { definePlugin } from '../../operator/src/framework/index.ts';

/** Score: the share of the task's preferred capabilities the agent has. */
export const preferredCapabilities = definePlugin({
  name: 'preferred-capabilities',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    score(task, agent) {
      if (task.preferred.length === 0) return 100;
      const held = task.preferred.filter((c) => agent.capabilities.has(c)).length;
      return (100 * held) / task.preferred.length;
    },
  }),
});
