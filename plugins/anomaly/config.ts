import { z } from 'zod';
import { RECENT_OUTCOMES } from '../../operator/src/api/names.ts';
import type { AdmissionRule } from '../../operator/src/framework/index.ts';

/** Each setting's bounds, shared by the zod schema and the admission rules. */
const BOUNDS = {
  alpha: { min: 0.01, max: 1, int: false },
  threshold: { min: 1, max: 20, int: false },
  minSlowdown: { min: 1, max: 100, int: false },
  minSamples: { min: 2, max: RECENT_OUTCOMES - 1, int: true },
  consecutiveTasks: { min: 1, max: RECENT_OUTCOMES - 2, int: true },
  failureRateThreshold: { min: 0.01, max: 1, int: false },
  cooldownSeconds: { min: 1, max: 86400, int: true },
  maxQuarantinedPercent: { min: 0, max: 100, int: true },
} as const;

type Field = keyof typeof BOUNDS;
const setting = (field: Field): z.ZodNumber => {
  const b = BOUNDS[field];
  return (b.int ? z.int() : z.number()).min(b.min).max(b.max);
};

export const anomalyConfig = z
  .strictObject({
    alpha: setting('alpha').default(0.1).describe('Weight of the newest attempt in the moving mean, variance and failure rate.'),
    threshold: setting('threshold')
      .default(3.5)
      .describe('Standard deviations of log(duration) above an agent’s mean that make an attempt slow.'),
    minSlowdown: setting('minSlowdown')
      .default(1.5)
      .describe('An attempt is slow only when it also took at least this many times the agent’s typical duration for such tasks.'),
    minSamples: setting('minSamples').default(8).describe('Attempts of a kind an agent must have finished before any is judged.'),
    consecutiveTasks: setting('consecutiveTasks').default(5).describe('Anomalous attempts of one kind in a row that quarantine the agent.'),
    failureRateThreshold: setting('failureRateThreshold')
      .default(0.5)
      .describe('Failure rate (moving average) above which an agent’s attempts count as anomalous.'),
    cooldownSeconds: setting('cooldownSeconds').default(300).describe('How long a quarantine lasts before one probe task is let through.'),
    maxQuarantinedPercent: setting('maxQuarantinedPercent')
      .default(50)
      .describe(
        'At most this share of a pool (rounded down) is quarantined at once; more anomalous agents raise the policy’s AnomalyGuard condition instead.',
      ),
  })
  .refine((c) => c.minSamples + c.consecutiveTasks <= RECENT_OUTCOMES, {
    message: `minSamples + consecutiveTasks must be at most ${RECENT_OUTCOMES}, the attempts an Agent keeps in status.stats.recent`,
    path: ['consecutiveTasks'],
  })
  .describe('Quarantines an agent whose task durations or failure rate turn anomalous for it.');
export type AnomalyConfig = z.output<typeof anomalyConfig>;

const AT = `object.spec.plugins['anomaly']`;

/** spec.plugins is free-form in the CRD: these refuse a bad value at `kubectl apply`. */
export const anomalyAdmission: readonly AdmissionRule[] = (Object.keys(BOUNDS) as Field[]).map((field) => {
  const { min, max, int } = BOUNDS[field];
  const value = `${AT}.${field}`;
  const typed = int ? `type(${value}) == int` : `(type(${value}) == int || type(${value}) == double)`;
  const bound = (n: number): string => (int ? String(n) : `${n}`.includes('.') ? `${n}` : `${n}.0`);
  const cmp = int ? `${value} >= ${min} && ${value} <= ${max}` : `double(${value}) >= ${bound(min)} && double(${value}) <= ${bound(max)}`;
  return {
    resource: 'orchestratorpolicies',
    expression: `!has(object.spec.plugins) || !('anomaly' in object.spec.plugins) || !has(${value}) || (${typed} && ${cmp})`,
    message: `spec.plugins.anomaly.${field} must be ${int ? 'a whole number' : 'a number'} from ${min} to ${max}`,
  };
});
