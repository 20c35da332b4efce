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
      // The rarest capability's list, as the index holds it (no copy for one capability),
      // narrowed by the others.
      let rarest = agents.withCapability(task.required[0] ?? '');
      for (const c of task.required) {
        const list = agents.withCapability(c);
        if (list.length < rarest.length) rarest = list;
      }
      return { agents: task.required.length === 1 ? rarest : rarest.filter((a) => task.required.every((c) => a.capabilities.has(c))) };
    },
    filter(task, agent) {
      // Sorted so the reason for one agent is the same whatever order the task lists them.
      const missing = task.required.filter((c) => !agent.capabilities.has(c)).sort();
      const first = missing[0];
      return first === undefined ? success : unresolvable(`lack capability ${first}`);
    },
  }),
});
