import { z } from 'zod';
import { agentSpec } from './agent.ts';
import { conditions, dnsLabel, nonNegative, observedGeneration, timestamp } from './common.ts';
import { asMap, withRules } from './validation.ts';

export const routingStrategies = ['Balanced', 'LeastLoaded', 'RoundRobin', 'PowerOfTwoChoices', 'BinPack'] as const;

const PLUGIN_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_PLUGINS = 32;
const pluginName = z.string().min(1).max(63).regex(PLUGIN_NAME, { message: "a plugin name is lowercase letters, digits and '-'" });

const pool = withRules(
  z
    .strictObject({
      name: dnsLabel('a pool name').describe('Name of the pool; its Agents carry it in the label agents.orchestrator.dev/pool.'),
      template: agentSpec.describe('The spec of every Agent the pool creates.'),
      minAgents: z.int().min(0).max(1000).default(0).describe('Agents the pool keeps even when idle.'),
      maxAgents: z.int().min(1).max(1000).default(10).describe('Agents the pool never exceeds.'),
      targetPendingPerAgent: z
        .int()
        .min(1)
        .max(1000)
        .default(1)
        .describe('Pending tasks per agent the pool aims for; fewer means more agents.'),
      scaleUp: z
        .strictObject({
          stabilizationSeconds: z
            .int()
            .min(0)
            .max(3600)
            .default(0)
            .describe(
              'Scale up only to the lowest recommendation of this window, so a need must last it (0: at once; waking from zero never waits).',
            ),
          maxStep: z.int().min(1).max(1000).default(4).describe('Agents added in one step at most.'),
        })
        .prefault({})
        .describe('How fast the pool grows.'),
      scaleDown: z
        .strictObject({
          stabilizationSeconds: z
            .int()
            .min(0)
            .max(86400)
            .default(300)
            .describe('Scale down only to the highest recommendation of this window, so a dip does not shrink the pool.'),
        })
        .prefault({})
        .describe('How fast the pool shrinks.'),
      sleepAfterIdleSeconds: z
        .int()
        .min(0)
        .max(604800)
        .optional()
        .describe('Put agents to sleep (not delete them) after this long idle, keeping them warm; unset: never.'),
      scaleToZero: z.boolean().default(false).describe('Remove every agent when the pool is idle; a pending task wakes it.'),
    })
    .describe('A pool of identical Agents, scaled with the queue.'),
  [
    {
      rule: 'self.minAgents <= self.maxAgents',
      message: 'minAgents must be less than or equal to maxAgents: lower minAgents or raise maxAgents',
      fieldPath: '.minAgents',
      holds: (p) => p.minAgents <= p.maxAgents,
    },
    {
      rule: '!self.scaleToZero || self.minAgents == 0',
      message: 'scaleToZero needs minAgents: 0 (or set scaleToZero: false to keep minAgents)',
      fieldPath: '.scaleToZero',
      holds: (p) => !p.scaleToZero || p.minAgents === 0,
    },
  ],
);

const perMillion = (what: string): z.ZodNumber => z.number().min(0).max(1e6).describe(`Price of a million ${what}, in the currency.`);

const price = z
  .strictObject({
    model: z
      .string()
      .min(1)
      .max(253)
      .describe('The model name as the agent reports it (gpt-4o, llama-3.1-70b); "*" prices every model not listed.'),
    inputPerMillion: perMillion('input tokens'),
    outputPerMillion: perMillion('output tokens'),
    cachedInputPerMillion: perMillion('cached input tokens')
      .optional()
      .describe('Price of a million input tokens served from the prompt cache; inputPerMillion when unset.'),
  })
  .describe('The price of one model’s tokens.');

export const budgetPeriods = ['Day', 'Week', 'Month'] as const;

const budget = withRules(
  z
    .strictObject({
      name: dnsLabel('a budget name').describe('Name of the budget, for conditions, Events and metrics.'),
      period: z.enum(budgetPeriods).default('Month').describe('Calendar period the spend is counted over, in UTC (weeks start on Monday).'),
      maxCost: z.number().min(0).max(1e12).optional().describe('Most the namespace’s tasks may cost in a period, in the currency.'),
      maxTokens: z
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .optional()
        .describe('Most tokens (input plus output) the namespace’s tasks may use in a period.'),
      action: z
        .enum(['Wait', 'Warn'])
        .default('Wait')
        .describe(
          'Wait: once the budget is spent, new tasks wait (Scheduled=False naming the budget) until the next period or a higher limit; running tasks finish. Warn: only the condition, Event and metrics.',
        ),
    })
    .describe('A limit on what the namespace spends in a period.'),
  [
    {
      rule: 'has(self.maxCost) || has(self.maxTokens)',
      message: 'a budget needs maxCost or maxTokens (or both)',
      holds: (b) => b.maxCost !== undefined || b.maxTokens !== undefined,
    },
  ],
);

export const accounting = z
  .strictObject({
    currency: z.string().min(1).max(16).default('USD').describe('The currency of prices and budgets, as it appears in status and metrics.'),
    prices: asMap(z.array(price).max(64), 'model').default([]).describe('Prices per model; a task’s cost is set when it ends.'),
    budgets: asMap(z.array(budget).max(8), 'name').default([]).describe('Limits on the namespace’s spend per period (the budget plugin).'),
  })
  .describe('Token prices and budgets.');

const routingSpec = z
  .strictObject({
    strategy: z
      .enum(routingStrategies)
      .default('Balanced')
      .describe('A preset of routing plugins: Balanced, LeastLoaded, RoundRobin, PowerOfTwoChoices or BinPack.'),
    plugins: asMap(
      z
        .array(
          z.strictObject({
            name: pluginName.describe('Name of a routing plugin.'),
            weight: z.int().min(0).max(100).default(1).describe('Weight of the plugin’s score (0 disables scoring).'),
          }),
        )
        .max(32),
      'name',
    )
      .optional()
      .describe('Score plugins and weights that adjust the strategy’s preset.'),
  })
  .prefault({})
  .describe('How tasks are matched to agents.');

const pluginConfigs = withRules(
  z
    .record(pluginName, z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true }))
    .refine((plugins) => Object.keys(plugins).length <= MAX_PLUGINS, {
      message: `at most ${MAX_PLUGINS} plugins can be configured`,
    })
    .meta({ maxProperties: MAX_PLUGINS }),
  [
    {
      // CRD schemas cannot constrain map keys, so the key pattern is a rule.
      rule: `self.all(name, name.size() <= 63 && name.matches('${PLUGIN_NAME.source}'))`,
      message: "plugin names are lowercase letters, digits and '-' (at most 63): rename the key under spec.plugins",
      holds: (plugins) => Object.keys(plugins).every((name) => name.length <= 63 && PLUGIN_NAME.test(name)),
    },
  ],
);

export const policySpec = z
  .strictObject({
    routing: routingSpec,
    autoscaling: z
      .strictObject({
        pools: asMap(z.array(pool).max(32), 'name').default([]).describe('Pools of agents scaled with the queue.'),
      })
      .optional()
      .describe('Pools of agents that grow with the queue, sleep when idle and wake on work.'),
    retries: z
      .strictObject({
        max: z.int().min(0).max(100).default(3).describe('Default further attempts after a task’s first fails.'),
        backoffSeconds: z.int().min(0).max(86400).default(10).describe('Default wait before a retry, doubled each time.'),
      })
      .prefault({})
      .describe('Defaults for tasks that do not set spec.retries.'),
    circuitBreaker: z
      .strictObject({
        failureThreshold: z
          .int()
          .min(1)
          .max(1000)
          .default(5)
          .describe('Consecutive failures that open an agent’s circuit (it gets no tasks).'),
        cooldownSeconds: z
          .int()
          .min(1)
          .max(86400)
          .default(60)
          .describe('How long a circuit stays open before one trial task is let through.'),
      })
      .prefault({})
      .describe('Stops routing to an agent that keeps failing.'),
    accounting: accounting.optional().describe('What tokens cost, per model, and what the namespace may spend.'),
    plugins: pluginConfigs.optional().describe('Per-plugin configuration, keyed by plugin name; each plugin validates its own.'),
  })
  .describe('How the namespace’s agents and tasks are run.');

export const policyStatus = z
  .object({
    pools: asMap(
      z
        .array(
          z.object({
            name: z.string().max(63).describe('Name of the pool.'),
            current: nonNegative(1000).describe('Awake agents in the pool now.'),
            desired: nonNegative(1000).describe('Awake agents the autoscaler wants.'),
            sleeping: nonNegative(1000).optional().describe('Agents of the pool asleep: kept warm, woken before new ones are made.'),
            lastScaleTime: timestamp.optional().describe('When the pool last changed size.'),
            reason: z.string().max(1024).optional().describe('Why the pool has its desired size, in words.'),
          }),
        )
        .max(32),
      'name',
    )
      .optional()
      .describe('Size of each pool.'),
    summary: z
      .string()
      .max(1024)
      .optional()
      .describe('One line for kubectl get: each pool as name current/desired (code-review 2/3, gpu 0/0).'),
    inForce: z
      .object({
        generation: observedGeneration.describe('The generation of the spec these settings were taken from.'),
        routing: routingSpec,
        plugins: pluginConfigs.optional().describe('Its spec.plugins.'),
      })
      .optional()
      .describe(
        'The routing configuration in force: that of the last generation whose plugin configuration was valid. It survives operator restarts, so a bad change never falls back to the defaults.',
      ),
    plugins: asMap(
      z
        .array(
          z.object({
            name: pluginName.describe('Name of the plugin.'),
            message: z.string().max(1024).describe('What its work came to, such as webhook deliveries and failures per endpoint.'),
            lastFailureTime: timestamp.optional().describe('When its work last failed.'),
            lastFailure: z.string().max(1024).optional().describe('Why its work last failed.'),
          }),
        )
        .max(MAX_PLUGINS),
      'name',
    )
      .optional()
      .describe(
        'What plugins report about the work the operator does for them (webhook deliveries, say), one entry per plugin; kept in the operator’s memory, so it starts afresh after a restart.',
      ),
    conditions: conditions.optional(),
    observedGeneration: observedGeneration.optional(),
  })
  .describe('The observed state of an OrchestratorPolicy.');

export const policy = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z
    .object({ name: dnsLabel('a policy name').optional() })
    .loose()
    .optional(),
  spec: policySpec.prefault({}),
  status: policyStatus.optional(),
});

export type PolicySpec = z.infer<typeof policySpec>;
export type PolicyStatus = z.infer<typeof policyStatus>;
export type OrchestratorPolicy = z.infer<typeof policy>;
