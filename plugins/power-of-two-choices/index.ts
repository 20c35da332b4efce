import { z } from 'zod';
import { definePlugin, stateKey } from '../../operator/src/framework/index.ts';

/** Each feasible agent's draw for the task being routed, from Score to Normalize. */
export const DRAWS = stateKey<Map<string, number>>('power-of-two-choices/draws');

/**
 * Score: draw two feasible agents at random and prefer the less loaded (Mitzenmacher's
 * power of two choices: nearly least-loaded balance without comparing every agent). The
 * raw score is the agent's load in this cycle; each agent's draw from the cycle's seeded
 * random() waits in the task's cycle state for normalize, which keeps the two highest
 * draws (a uniform random pair) and scores the less loaded of them.
 */
export const powerOfTwoChoices = definePlugin({
  name: 'power-of-two-choices',
  config: z.strictObject({}).describe('No settings.'),
  routing: () => ({
    score(_task, agent, state) {
      let draws = state.read(DRAWS);
      if (draws === undefined) state.write(DRAWS, (draws = new Map()));
      draws.set(agent.key, state.random());
      return state.load(agent);
    },
    normalize(_task, scores, state) {
      const draws = state.read(DRAWS) ?? new Map<string, number>();
      const drawn = [...scores]
        .map(([key, load]) => ({ key, load, draw: draws.get(key) ?? 0 }))
        .sort((a, b) => b.draw - a.draw || (a.key < b.key ? -1 : 1));
      const [first, second] = drawn;
      for (const key of scores.keys()) scores.set(key, 0);
      if (first === undefined) return;
      // On equal load the first drawn wins, so ties are broken at random, not by name.
      const [winner, runnerUp] = second !== undefined && second.load < first.load ? [second, first] : [first, second];
      scores.set(winner.key, 100);
      if (runnerUp !== undefined) scores.set(runnerUp.key, 50);
    },
  }),
});
