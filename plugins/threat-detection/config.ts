import { z } from 'zod';
import type { AdmissionRule } from '../../operator/src/framework/index.ts';

/** Each number's bounds, shared by the zod schema and the admission rules. */
const BOUNDS = {
  threshold: { min: 1, max: 10_000 },
  windowSeconds: { min: 1, max: 86_400 },
  cooldownSeconds: { min: 0, max: 604_800 },
} as const;
export const ACTIONS = ['Quarantine', 'Stop'] as const;

type Field = keyof typeof BOUNDS;
const setting = (field: Field): z.ZodInt => z.int().min(BOUNDS[field].min).max(BOUNDS[field].max);

export const threatDetectionConfig = z
  .strictObject({
    threshold: setting('threshold').default(5).describe('Refusals within windowSeconds that quarantine an agent.'),
    windowSeconds: setting('windowSeconds').default(60).describe('How far back refusals are counted.'),
    action: z
      .enum(ACTIONS)
      .default('Quarantine')
      .describe('Quarantine: no new tasks; Stop: no new tasks and the agent is put to sleep (its workload stopped) while quarantined.'),
    cooldownSeconds: setting('cooldownSeconds')
      .default(0)
      .describe('Release a quarantine on its own after this long; 0 (the default): only a person releases it, by annotation.'),
  })
  .describe('Quarantines an agent whose identity keeps trying what it may not (refused requests).');
export type ThreatDetectionConfig = z.output<typeof threatDetectionConfig>;

const AT = `object.spec.plugins['threat-detection']`;
const absent = (field: string): string =>
  `!has(object.spec.plugins) || !('threat-detection' in object.spec.plugins) || !has(${AT}.${field})`;

/** spec.plugins is free-form in the CRD: these refuse a bad value at `kubectl apply`. */
export const threatDetectionAdmission: readonly AdmissionRule[] = [
  ...(Object.keys(BOUNDS) as Field[]).map((field) => {
    const { min, max } = BOUNDS[field];
    const value = `${AT}.${field}`;
    return {
      resource: 'orchestratorpolicies' as const,
      expression: `${absent(field)} || (type(${value}) == int && ${value} >= ${min} && ${value} <= ${max})`,
      message: `spec.plugins.threat-detection.${field} must be a whole number from ${min} to ${max}`,
    };
  }),
  {
    resource: 'orchestratorpolicies' as const,
    expression: `${absent('action')} || ${AT}.action in [${ACTIONS.map((a) => `'${a}'`).join(', ')}]`,
    message: `spec.plugins.threat-detection.action must be one of ${ACTIONS.join(', ')}`,
  },
];
