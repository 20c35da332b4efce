import { z } from 'zod';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CAPABILITY = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export const indicators = ['AssignmentLatency', 'EndToEndLatency', 'SuccessRatio', 'QueueAge'] as const;
export type Indicator = (typeof indicators)[number];

/** SLOs per policy: each is one condition on the policy, and conditions are capped at 16. */
export const MAX_SLOS = 8;

export const slo = z
  .strictObject({
    name: z
      .string()
      .max(40)
      .regex(DNS_LABEL, { message: "an SLO name is lowercase letters, digits and '-' (at most 40)" })
      .describe('Names the SLO in its condition (SLOHealthy-<name>), metrics and alerts.'),
    indicator: z
      .enum(indicators)
      .describe(
        'AssignmentLatency: a task is assigned within thresholdSeconds of being ready; EndToEndLatency: it ends within thresholdSeconds of its creation; SuccessRatio: a task that ends, succeeds; QueueAge: the share of time no task has waited for an agent longer than thresholdSeconds.',
      ),
    thresholdSeconds: z
      .number()
      .min(1)
      .max(604800)
      .optional()
      .describe(
        'The latency a good task stays within, or the queue age (all but SuccessRatio). Task timestamps are whole seconds, so latencies are judged to the second.',
      ),
    objectivePercent: z.number().min(50).max(99.999).describe('The share of good tasks promised, e.g. 99.'),
    windowDays: z
      .int()
      .min(1)
      .max(90)
      .default(30)
      .describe('The window the objective holds over; the burn-rate alert thresholds scale with it.'),
    capability: z.string().max(63).regex(CAPABILITY).optional().describe('Only tasks that require this capability count.'),
  })
  .refine((s) => (s.indicator === 'SuccessRatio') === (s.thresholdSeconds === undefined), {
    message: 'thresholdSeconds is required for a latency or queue-age indicator and not allowed for SuccessRatio',
    path: ['thresholdSeconds'],
  });
export type Slo = z.output<typeof slo>;

const SECRET_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const alertWebhook = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, hostname: z.regexes.hostname, error: 'must be an http:// or https:// URL' })
      .max(2048)
      .describe('An Alertmanager-compatible webhook receiver: it gets the Alertmanager webhook payload (version 4) as application/json.'),
    signingSecret: z
      .strictObject({
        name: z.string().max(253).regex(SECRET_NAME, { message: 'a Secret name: lowercase letters, digits, "-" and "."' }),
        key: z.string().min(1).max(253),
      })
      .optional()
      .describe('A Secret of the namespace whose key signs each body (HMAC-SHA256, header X-Agent-Orchestrator-Signature).'),
    timeoutSeconds: z.int().min(1).max(60).default(5).describe('Seconds one request may take.'),
    retries: z.int().min(0).max(10).default(3).describe('Further attempts after a failed one.'),
  })
  .describe('Where each change of an SLO’s verdict is sent (firing, then resolved), besides the condition and the Event.');

export const productionSloConfig = z
  .strictObject({
    slos: z
      .array(slo)
      .max(MAX_SLOS)
      .default([])
      .refine((list) => new Set(list.map((s) => s.name)).size === list.length, { message: 'SLO names must be unique' })
      .describe('The service level objectives of the namespace.'),
    alertWebhook: alertWebhook.optional(),
  })
  .describe('Service level objectives on what the operator observes, with multi-window burn rates.');
export type ProductionSloConfig = z.output<typeof productionSloConfig>;
