import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';
import { utilisation } from './least-loaded.ts';

export const mostLoadedConfig = z.strictObject({}).describe('No settings.');
export type MostLoadedConfig = z.output<typeof mostLoadedConfig>;

/** Score: bin-pack, the fuller agent first, so idle agents can sleep or be scaled away. */
export function mostLoaded(_config: MostLoadedConfig = {}): RoutingPlugin {
  return {
    name: 'most-loaded',
    score: (_task, agent, state) => 100 * utilisation(agent, state),
  };
}
