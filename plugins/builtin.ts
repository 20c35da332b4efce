import type { routingStrategies } from '../operator/src/api/policy.ts';
import type { Plugin } from '../operator/src/framework/index.ts';
import { affinity } from './affinity/index.ts';
import { agentState } from './agent-state/index.ts';
import { anomaly } from './anomaly/index.ts';
import { automation } from './automation/index.ts';
import { budget } from './budget/index.ts';
import { capacity } from './capacity/index.ts';
import { circuitBreaker } from './circuit-breaker/index.ts';
import { contextPlugin } from './context/index.ts';
import { hooks } from './hooks/index.ts';
import { leastLoaded } from './least-loaded/index.ts';
import { mostLoaded } from './most-loaded/index.ts';
import { performancePlugin } from './performance/index.ts';
import { powerOfTwoChoices } from './power-of-two-choices/index.ts';
import { preferredCapabilities } from './preferred-capabilities/index.ts';
import { priority } from './priority/index.ts';
import { productionSlo } from './production-slo/index.ts';
import { requiredCapabilities } from './required-capabilities/index.ts';
import { roundRobin } from './round-robin/index.ts';
import { security } from './security/index.ts';
import { threatDetection } from './threat-detection/index.ts';

/**
 * The plugins shipped with the operator, in the order their filters run: the cheap,
 * decisive ones first, so the reason a task waits is the most telling one.
 */
export const builtinPlugins: readonly Plugin[] = [
  requiredCapabilities,
  agentState,
  circuitBreaker,
  anomaly,
  threatDetection,
  budget,
  hooks,
  capacity,
  contextPlugin,
  affinity,
  automation,
  preferredCapabilities,
  leastLoaded,
  mostLoaded,
  roundRobin,
  powerOfTwoChoices,
  priority,
  productionSlo,
  performancePlugin,
  security,
];

/** Score plugins and weights of each spec.routing.strategy. */
export const strategyPresets = {
  Balanced: [
    ['preferred-capabilities', 2],
    ['affinity', 3],
    ['least-loaded', 1],
    ['context', 1],
  ],
  LeastLoaded: [
    ['least-loaded', 3],
    ['preferred-capabilities', 1],
    ['affinity', 3],
    ['context', 1],
  ],
  RoundRobin: [
    ['round-robin', 3],
    ['preferred-capabilities', 1],
    ['affinity', 3],
    ['context', 1],
  ],
  PowerOfTwoChoices: [
    ['power-of-two-choices', 3],
    ['preferred-capabilities', 1],
    ['affinity', 3],
    ['context', 1],
  ],
  BinPack: [
    ['most-loaded', 3],
    ['preferred-capabilities', 1],
    ['affinity', 3],
    ['context', 1],
  ],
} as const satisfies Record<(typeof routingStrategies)[number], readonly (readonly [string, number])[]>;
