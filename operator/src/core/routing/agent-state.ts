import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const agentStateConfig = z.strictObject({}).describe('No settings.');
export type AgentStateConfig = z.output<typeof agentStateConfig>;

export const AGENT_STATE_REASONS = {
  leaving: 'draining or being deleted',
  asleep: 'asleep',
  notReady: 'not ready',
  circuitOpen: 'circuit open',
  trialRunning: 'circuit half-open, trial running',
} as const;

/** Filter: the agent is up, staying, and its circuit lets a task through. */
export function agentState(_config: AgentStateConfig = {}): RoutingPlugin {
  return {
    name: 'agent-state',
    filter(_task, agent, state) {
      const r = AGENT_STATE_REASONS;
      if (agent.leaving) return { ok: false, reason: r.leaving };
      if (agent.sleeping) return { ok: false, reason: r.asleep };
      if (!agent.ready) return { ok: false, reason: r.notReady };
      if (agent.circuit === 'open') return { ok: false, reason: r.circuitOpen };
      // A half-open circuit lets exactly one trial through: one given earlier in this
      // cycle counts as well as one already running.
      if (agent.circuit === 'half-open' && (agent.trialInFlight || state.assignedThisCycle(agent) > 0)) {
        return { ok: false, reason: r.trialRunning };
      }
      return { ok: true };
    },
  };
}
