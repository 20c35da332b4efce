import { z } from 'zod';
import { definePlugin, skip, success, unresolvable } from '../../operator/src/framework/index.ts';

/**
 * PreFilter: only agents with every required capability stay candidates, read off the
 * capability index instead of a scan. Filter: names the first missing capability.
 */
export const requiredCapabilities = definePlugin({
  name: 'required-capabilities',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    preFilter(task, agents) {
      if (task.required.length === 0) return { status: skip };
      // Start from the rarest capability: the intersection only shrinks.
      const lists = task.required.map((c) => agents.withCapability(c)).sort((a, b) => a.length - b.length);
      const [first = [], ...rest] = lists;
      const keys = new Set(first.map((a) => a.key));
      for (const list of rest) {
        const has = new Set(list.map((a) => a.key));
        for (const key of keys) if (!has.has(key)) keys.delete(key);
      }
      return { agents: keys };
    },
    filter(task, agent) {
      // Sorted so the reason for one agent is the same whatever order the task lists them.
      const missing = task.required.filter((c) => !agent.capabilities.has(c)).sort();
      const first = missing[0];
      return first === undefined ? success : unresolvable(`lack capability ${first}`);
    },
  }),
});
