import { z } from 'zod';
import { definePlugin, utilisation } from '../../operator/src/framework/index.ts';

/** Score: spread work, the emptier agent first. */
export const leastLoaded = definePlugin({
  name: 'least-loaded',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({ score: (_task, agent, state) => 100 * (1 - utilisation(agent, state)) }),
});
