import { z } from 'zod';
import { definePlugin, utilisation } from '../../operator/src/framework/index.ts';

/** Score: bin-pack, the fuller agent first, so idle agents can sleep or be scaled away. */
export const mostLoaded = definePlugin({
  name: 'most-loaded',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({ score: (_task, agent, state) => 100 * utilisation(agent, state) }),
});
