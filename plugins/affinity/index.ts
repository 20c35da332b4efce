import { z } from 'zod';
import { contextFits, definePlugin, skip, success, unresolvable } from '../../operator/src/framework/index.ts';

/**
 * Filter: a task pinned with affinity.agent fits only that agent (tasks and agents share
 * a namespace, so the name is enough). Score: 100 for an agent that already holds the
 * task's affinity.contextKey, so a conversation stays where its context is, unless that
 * context has no room left for the task (spec.estimatedTokens) before its compaction
 * threshold: the conversation then moves rather than wait for a compaction. PreFilter
 * narrows a pinned task to its agent and puts the context's holders first, so a large
 * namespace's sample always includes them.
 */
export const affinity = definePlugin({
  name: 'affinity',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    preFilter(task, agents) {
      const pinned = task.affinity?.agent;
      if (pinned !== undefined) {
        const agent = agents.get(`${task.namespace}/${pinned}`);
        return { agents: agent ? [agent] : [] };
      }
      const key = task.affinity?.contextKey;
      if (key === undefined) return { status: skip };
      const holders = agents.withContextKey(key);
      return holders.length ? { prefer: new Set(holders.map((a) => a.key)) } : {};
    },
    filter(task, agent) {
      const pinned = task.affinity?.agent;
      return pinned === undefined || pinned === agent.name ? success : unresolvable(`not the pinned agent ${pinned}`);
    },
    score(task, agent) {
      const key = task.affinity?.contextKey;
      return key !== undefined && agent.contextKeys.has(key) && contextFits(agent, task.estimatedTokens) ? 100 : 0;
    },
  }),
});
