import { z } from 'zod';
import type { AgentInfo, CycleState, RoutingPlugin } from '../../framework/types.ts';

export const leastLoadedConfig = z.strictObject({}).describe('No settings.');
export type LeastLoadedConfig = z.output<typeof leastLoadedConfig>;

/** Share of the agent's slots in use, 0-1; an agent without slots counts as full. */
export function utilisation(agent: AgentInfo, state: CycleState): number {
  if (agent.maxConcurrentTasks <= 0) return 1;
  return Math.min(1, Math.max(0, state.load(agent) / agent.maxConcurrentTasks));
}

/** Score: spread work, the emptier agent first. */
export function leastLoaded(_config: LeastLoadedConfig = {}): RoutingPlugin {
  return {
    name: 'least-loaded',
    score: (_task, agent, state) => 100 * (1 - utilisation(agent, state)),
  };
}
