import type { AgentInfo, CycleState } from './types.ts';

/** Share of the agent's slots in use this cycle, 0-1; an agent without slots counts as full. */
export function utilisation(agent: AgentInfo, state: CycleState): number {
  if (agent.maxConcurrentTasks <= 0) return 1;
  return Math.min(1, Math.max(0, state.load(agent) / agent.maxConcurrentTasks));
}
