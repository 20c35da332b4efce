import { z } from 'zod';
import { definePlugin, success, unresolvable, unschedulable, type Status } from '../../operator/src/framework/index.ts';

export const AGENT_STATE_REASONS = {
  leaving: 'draining or being deleted',
  asleep: 'asleep',
  notReady: 'not ready',
} as const;

const r = AGENT_STATE_REASONS;

/**
 * Filter: the agent is up and staying. PostFilter: when
 * no agent can take the task, the sleeping agents that would pass every filter once
 * awake, so the router wakes one. Only "asleep" is a status waking can fix; judging a
 * woken copy against every filter leaves out agents it would not help.
 */
export const agentState = definePlugin({
  name: 'agent-state',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    filter(_task, agent): Status {
      if (agent.leaving) return unresolvable(r.leaving);
      if (agent.sleeping) return unschedulable(r.asleep);
      if (!agent.ready) return unschedulable(r.notReady);
      return success;
    },
    postFilter(task, statuses, handle) {
      const wake = handle.agents.filter((agent) => {
        const s = statuses.get(agent.key);
        if (s?.plugin !== 'agent-state' || s.reason !== r.asleep) return false;
        return handle.runFilters(task, { ...agent, sleeping: false, ready: true }).code === 'Success';
      });
      return { wake: wake.map((a) => a.key) };
    },
  }),
});
