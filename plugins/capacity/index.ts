import { z } from 'zod';
import { definePlugin, success, unschedulable } from '../../operator/src/framework/index.ts';

/** Filter: the agent has a free slot, counting tasks reserved earlier in this cycle. */
export const capacity = definePlugin({
  name: 'capacity',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    filter: (_task, agent, state) => (state.load(agent) >= agent.maxConcurrentTasks ? unschedulable('at capacity') : success),
  }),
});
