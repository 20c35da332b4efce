import { z } from 'zod';
import { definePlugin } from '../../operator/src/framework/index.ts';

// The raw score packs "(assignments this cycle, time since last assignment)" into one
// number that sorts the same way: the age in ms, capped, never-assigned just above the
// cap, and each assignment in this cycle a step larger than the whole age range, so an
// agent picked in this cycle ranks below every agent not yet picked. Within the cycle the
// old order carries the rotation on. 2^40 ms is about 35 years; 1000 steps of 2^40 stay
// well inside 2^53.
const AGE_CAP = 2 ** 40;
const NEVER = AGE_CAP + 1;
const STEP = AGE_CAP + 2;

/** Replaces raw scores by their rank: the highest distinct value 100, the lowest 0. */
export function rankScores(scores: Map<string, number>): void {
  const distinct = [...new Set(scores.values())].sort((a, b) => b - a);
  const steps = distinct.length - 1;
  const rank = new Map(distinct.map((v, i) => [v, steps === 0 ? 100 : (100 * (steps - i)) / steps]));
  for (const [key, raw] of scores) scores.set(key, rank.get(raw) ?? 0);
}

/** Score: the agent that waited longest since its last task first. */
export const roundRobin = definePlugin({
  name: 'round-robin',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    score(_task, agent, state) {
      const age = agent.lastAssignedAt === undefined ? NEVER : Math.min(AGE_CAP, Math.max(0, state.now - agent.lastAssignedAt));
      return age - STEP * state.assignedThisCycle(agent);
    },
    normalize(_task, scores) {
      rankScores(scores);
    },
  }),
});
