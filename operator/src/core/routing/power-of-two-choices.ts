import { z } from 'zod';
import type { RoutingPlugin } from '../../framework/types.ts';

export const powerOfTwoChoicesConfig = z.strictObject({}).describe('No settings.');
export type PowerOfTwoChoicesConfig = z.output<typeof powerOfTwoChoicesConfig>;

/**
 * Score: draw two feasible agents at random and prefer the less loaded (Mitzenmacher's
 * power of two choices: nearly least-loaded balance without comparing every agent).
 *
 * normalize sees only numbers and has no CycleState, so the raw score carries both
 * inputs: `load + u`, the integer part the agent's load in this cycle and the fraction
 * `u` in [0, 1) its draw from the cycle's seeded random(). The two highest draws are a
 * uniform random pair. Loads stay far below 2^20 and draws have 32 bits, so the sum is
 * exact and both parts come back unchanged.
 */
export function powerOfTwoChoices(_config: PowerOfTwoChoicesConfig = {}): RoutingPlugin {
  return {
    name: 'power-of-two-choices',
    score: (_task, agent, state) => Math.max(0, Math.floor(state.load(agent))) + state.random(),
    normalize(_task, scores) {
      const drawn = [...scores]
        .map(([key, raw]) => ({ key, load: Math.floor(raw), draw: raw - Math.floor(raw) }))
        .sort((a, b) => b.draw - a.draw || (a.key < b.key ? -1 : 1));
      const [first, second] = drawn;
      for (const key of scores.keys()) scores.set(key, 0);
      if (first === undefined) return;
      // On equal load the first drawn wins, so ties are broken at random, not by name.
      const [winner, runnerUp] = second !== undefined && second.load < first.load ? [second, first] : [first, second];
      scores.set(winner.key, 100);
      if (runnerUp !== undefined) scores.set(runnerUp.key, 50);
    },
  };
}
