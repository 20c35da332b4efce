// Random, mostly schema-valid and deliberately hostile Agents, Tasks and
// OrchestratorPolicies, and what to do to each after it is created (patch it many times
// in a row, delete it when it reaches a phase). Names are given afterwards (names.ts),
// so a plan can point at objects that exist, will exist, or never will.
import fc from 'fast-check';
import { agentPhases } from '../operator/src/api/agent.ts';
import { taskPhases } from '../operator/src/api/task.ts';
import { fill, oddString } from './strings.ts';

/** Capabilities the runner agents and most tasks draw from, so that work can match. */
export const VOCABULARY = ['work', 'gpu', 'code-review', 'lang.go', 'x', '0', '9.9', fill('c', 63)];
/** Loopback only: a Docker endpoint nothing answers on (the fuzz runs no engine for its agents). */
export const DEAD_DOCKER_HOSTS = ['unix:///tmp/agent-orchestrator-fuzz/no-engine.sock', 'tcp://127.0.0.1:1'];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A merge patch of spec fields, sent right after the object was created, one after another. */
export type Flap = Record<string, Json>;

export interface AgentPlan {
  kind: 'Agent';
  spec: Record<string, Json>;
  /** A simulated runner serves it (its Pod runs on kwok): tasks move through phases on it. */
  runner: boolean;
  flaps: Flap[];
  /** Delete it once its phase is this ('Created': at once). */
  deleteAt?: string | undefined;
}

export interface TaskPlan {
  kind: 'Task';
  spec: Record<string, Json>;
  dependsOn: Dep[];
  /** Pinned to a runner agent, to an agent that never exists, or to nothing. */
  pin?: 'runner' | 'missing' | undefined;
  flaps: Flap[];
  deleteAt?: string | undefined;
}

export interface PolicyPlan {
  kind: 'OrchestratorPolicy';
  spec: Record<string, Json>;
  flaps: Flap[];
  deleteAt?: string | undefined;
}

export type Plan = AgentPlan | TaskPlan | PolicyPlan;

/**
 * What a task depends on: the task `offset` plans away from it (negative: an earlier one;
 * positive: a later one, so cycles can close), a task that never exists, or any other task.
 */
export type Dep = { offset: number } | 'missing' | 'any';

const capability = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...VOCABULARY) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/) },
);

/** Usually a set within `max`; sometimes thousands (the API server refuses those). */
const capabilities = (max: number): fc.Arbitrary<string[]> =>
  fc.oneof(
    { weight: 20, arbitrary: fc.uniqueArray(capability, { maxLength: 3 }) },
    { weight: 3, arbitrary: fc.uniqueArray(capability, { minLength: max, maxLength: max }) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: max + 1, max: 3000 }).map((n) => Array.from({ length: n }, (_, i) => `cap-${i}`)),
    },
  );

const quantity = fc.constantFrom('1', '500m', '1Gi', '0', '999999999999', '1e3', '0.001', '64Ei', '1m', '100Mi', '3');

const envVar = fc.record({
  name: fc.stringMatching(/^[-._a-zA-Z][-._a-zA-Z0-9]{0,30}$/),
  value: oddString(32768, { hugeWeight: 1 }),
});

const kubernetesPlacement = fc.record(
  {
    nodeSelector: fc.constantFrom({ disk: 'none' }, { 'kubernetes.io/arch': 'amd64' }, { type: 'kwok' }),
    tolerations: fc.constant([{ operator: 'Exists' }]),
    resources: fc.record({ limits: fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const runtime = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.record(
          {
            image: fc.oneof(fc.constant('agent-orchestrator/runner:dev'), oddString(1024, { min: 1 })),
            command: fc.array(oddString(4096, { hugeWeight: 1 }), { maxLength: 64 }),
            args: fc.array(oddString(64), { maxLength: 256 }),
            env: fc.uniqueArray(envVar, { maxLength: 128, selector: (e) => e.name }),
          },
          { requiredKeys: ['image'] },
        ),
        kubernetesPlacement,
      )
      .map(([r, placement]) => ({ type: 'kubernetes', ...r, ...placement })),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        type: fc.constant('docker'),
        image: oddString(1024, { min: 1 }),
        args: fc.array(oddString(64), { maxLength: 16 }),
        docker: fc.record({ host: fc.constantFrom(...DEAD_DOCKER_HOSTS) }),
        resources: fc.record({ limits: fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      },
      { requiredKeys: ['type', 'image', 'docker'] },
    ),
  },
);

const heartbeat = fc
  .tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 3600 }))
  .map(([interval, extra]) => ({ intervalSeconds: interval, timeoutSeconds: Math.min(3600, interval + extra) }));

export const agentSpec = fc.record(
  {
    capabilities: capabilities(64),
    runtime,
    maxConcurrentTasks: fc.oneof(fc.constantFrom(1, 2, 1000), fc.integer({ min: 1, max: 1000 })),
    desiredState: fc.constantFrom('Active', 'Sleeping'),
    heartbeat,
    context: fc.record(
      { windowTokens: fc.integer({ min: 1, max: 100_000_000 }), compactAtPercent: fc.integer({ min: 1, max: 100 }) },
      { requiredKeys: ['windowTokens'] },
    ),
  },
  { requiredKeys: ['runtime'] },
);

/** The agents tasks actually run on: kubernetes, the runner image, a vocabulary capability set. */
const runnerSpec = fc.record({
  capabilities: fc
    .uniqueArray(fc.constantFrom(...VOCABULARY), { minLength: 1, maxLength: VOCABULARY.length })
    .map((c) => [...new Set(['work', ...c])]),
  runtime: fc.constant({ type: 'kubernetes', image: 'agent-orchestrator/runner:dev' }),
  maxConcurrentTasks: fc.integer({ min: 1, max: 8 }),
  heartbeat: fc.constant({ intervalSeconds: 10, timeoutSeconds: 40 }),
});

const agentFlap: fc.Arbitrary<Flap> = fc.oneof(
  fc.record({ desiredState: fc.constantFrom('Active', 'Sleeping') }),
  fc.record({ maxConcurrentTasks: fc.integer({ min: 1, max: 1000 }) }),
  fc.record({ capabilities: fc.uniqueArray(fc.constantFrom(...VOCABULARY), { maxLength: 4 }) }),
  fc.record({ heartbeat: heartbeat }),
  fc.record({ runtime: fc.record({ image: oddString(1024, { min: 1 }) }) }),
  // Not allowed once created: the API server refuses the change of runtime.
  fc.constant({ runtime: { type: 'docker' } }),
);

const payload = fc.oneof(
  { weight: 10, arbitrary: fc.dictionary(oddString(16, { min: 1 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 }) },
  { weight: 2, arbitrary: fc.constant(deepObject(60)) },
  { weight: 1, arbitrary: fc.constant({ wide: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])) }) },
);

function deepObject(depth: number): Record<string, Json> {
  let o: Record<string, Json> = { leaf: '\u202Eend' };
  for (let i = 0; i < depth; i++) o = { [`level${i}`]: o };
  return o;
}

export const taskSpec = fc.record(
  {
    requiredCapabilities: capabilities(32),
    preferredCapabilities: capabilities(32),
    priority: fc.oneof(fc.constantFrom(0, 1000), fc.integer({ min: 0, max: 1000 })),
    input: oddString(262144, { hugeWeight: 1 }),
    payload,
    timeoutSeconds: fc.oneof(fc.constantFrom(1, 2, 604800), fc.integer({ min: 1, max: 604800 })),
    retries: fc.record({ max: fc.integer({ min: 0, max: 100 }), backoffSeconds: fc.constantFrom(0, 1, 3, 86400) }, { requiredKeys: [] }),
    cancel: fc.boolean(),
    estimatedTokens: fc.integer({ min: 1, max: 100_000_000 }),
    affinity: fc.record({ contextKey: fc.oneof(fc.constantFrom('conversation-1', 'loop'), oddString(253, { min: 1 })) }),
  },
  { requiredKeys: [] },
);

const taskFlap: fc.Arbitrary<Flap> = fc.oneof(
  fc.record({ priority: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ cancel: fc.boolean() }),
  fc.record({ input: oddString(512) }),
  fc.record({ timeoutSeconds: fc.integer({ min: 1, max: 604800 }) }),
  // Refused once the task is assigned (a transition rule).
  fc.record({ requiredCapabilities: fc.uniqueArray(fc.constantFrom(...VOCABULARY), { maxLength: 3 }) }),
  fc.record({ affinity: fc.record({ contextKey: oddString(253, { min: 1 }) }) }),
);

const KNOWN_PLUGINS = [
  'required-capabilities',
  'agent-state',
  'circuit-breaker',
  'anomaly',
  'budget',
  'hooks',
  'capacity',
  'context',
  'affinity',
  'automation',
  'preferred-capabilities',
  'least-loaded',
  'most-loaded',
  'round-robin',
  'power-of-two-choices',
  'priority',
  'production-slo',
  'performance',
];
const pluginName = fc.oneof(fc.constantFrom(...KNOWN_PLUGINS), fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/));

// Endpoints only on loopback ports where nothing listens, or not URLs at all: the fuzz
// must never make the operator reach beyond 127.0.0.0/8.
const deadUrl = fc.constantFrom('http://127.0.0.1:1/hook', 'http://localhost:9/x', 'ftp://127.0.0.1/', 'not a url', '', 'http://[::1]:1/');
const cron = fc.constantFrom(
  '* * * * *',
  '0 0 31 2 *',
  '*/0 * * * *',
  '61 * * * *',
  '0 0 * * MON-FRI',
  '@yearly',
  'L W # ?',
  '* * * * * * *',
  '',
);

/** Plugin settings: random JSON for most, near-valid settings for the ones that reach out or parse. */
const pluginConfig = (name: string): fc.Arbitrary<Json> => {
  switch (name) {
    case 'hooks':
      return fc.record({
        endpoints: fc.array(
          fc.record(
            {
              name: fc.constantFrom('a', 'b', 'A', 'a'),
              url: deadUrl,
              events: fc.constantFrom(['task.*'], ['nope'], []),
              timeoutSeconds: fc.constantFrom(1, 0, 61),
            },
            { requiredKeys: ['name', 'url'] },
          ),
          { maxLength: 17 },
        ),
        preAssignment: fc.option(fc.record({ endpoint: fc.constantFrom('a', 'b', 'missing') }), { nil: undefined }),
      }) as unknown as fc.Arbitrary<Json>;
    case 'production-slo':
      return fc.record({
        objectives: fc.array(fc.record({ name: fc.constantFrom('x', 'y'), objectivePercent: fc.constantFrom(99, 49, 100, 99.999) }), {
          maxLength: 3,
        }),
        alerts: fc.array(fc.record({ url: deadUrl }), { maxLength: 2 }),
      });
    case 'automation':
      return fc.record({
        schedules: fc.array(
          fc.record({
            name: fc.constantFrom('night', 'n', 'Night'),
            cron,
            timeZone: fc.constantFrom('UTC', 'Mars/Olympus', 'Europe/Berlin'),
            pool: fc.constantFrom('p', 'missing'),
          }),
          { maxLength: 5 },
        ),
      });
    default:
      return fc.oneof(
        fc.dictionary(oddString(32, { min: 1 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
        fc.constant({}),
      ) as fc.Arbitrary<Json>;
  }
};

const plugins = fc
  .uniqueArray(pluginName, { maxLength: 32 })
  .chain((names) => fc.tuple(...names.map((n) => pluginConfig(n).map((c) => [n, c] as const))))
  .map((entries) => Object.fromEntries(entries.filter(([, c]) => c !== null && typeof c === 'object' && !Array.isArray(c))));

const pool = fc
  .tuple(
    fc.oneof(fc.stringMatching(/^[a-z]([-a-z0-9]{0,8}[a-z0-9])?$/), fc.constant('')),
    agentSpec,
    fc.integer({ min: 0, max: 1 }),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
  )
  .map(([name, template, min, max, scaleToZero]) => ({
    name,
    template: { ...template, runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
    minAgents: scaleToZero ? 0 : min,
    maxAgents: max,
    scaleToZero,
    sleepAfterIdleSeconds: 1,
    scaleDown: { stabilizationSeconds: 0 },
  }));

/** Pools named to the 63-character limit, as many as allowed: the longest status the policy can have. */
const widestPools = fc.constant(
  Array.from({ length: 32 }, (_, i) => ({
    name: fill(`pool-${i}-`, 62) + String(i % 10),
    template: { capabilities: ['never-matched'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
    maxAgents: 1,
  })),
);

export const policySpec = fc.record(
  {
    routing: fc.record(
      {
        strategy: fc.constantFrom('Balanced', 'LeastLoaded', 'RoundRobin', 'PowerOfTwoChoices', 'BinPack'),
        plugins: fc.uniqueArray(fc.record({ name: pluginName, weight: fc.integer({ min: 0, max: 100 }) }), {
          maxLength: 32,
          selector: (p) => p.name,
        }),
      },
      { requiredKeys: [] },
    ),
    autoscaling: fc.record({
      pools: fc.oneof(
        { weight: 6, arbitrary: fc.uniqueArray(pool, { maxLength: 3, selector: (p) => p.name }) },
        { weight: 1, arbitrary: widestPools },
      ),
    }),
    retries: fc.record({ max: fc.integer({ min: 0, max: 100 }), backoffSeconds: fc.integer({ min: 0, max: 86400 }) }, { requiredKeys: [] }),
    circuitBreaker: fc.record(
      { failureThreshold: fc.integer({ min: 1, max: 1000 }), cooldownSeconds: fc.integer({ min: 1, max: 86400 }) },
      { requiredKeys: [] },
    ),
    accounting: fc.record(
      {
        currency: oddString(16, { min: 1 }),
        prices: fc.uniqueArray(
          fc.record({
            model: oddString(253, { min: 1 }),
            inputPerMillion: fc.double({ min: 0, max: 1e6, noNaN: true }),
            outputPerMillion: fc.constantFrom(0, 1e6),
          }),
          { maxLength: 64, selector: (p) => p.model },
        ),
        budgets: fc.uniqueArray(
          fc.record(
            {
              name: fc.stringMatching(/^[a-z]{1,10}$/),
              period: fc.constantFrom('Day', 'Week', 'Month'),
              maxCost: fc.constantFrom(0, 1e12),
              maxTokens: fc.constantFrom(0, 1, Number.MAX_SAFE_INTEGER),
            },
            { requiredKeys: ['name', 'maxTokens'] },
          ),
          { maxLength: 8, selector: (b) => b.name },
        ),
      },
      { requiredKeys: [] },
    ),
    plugins,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Record<string, Json>>;

const deleteAt = (phases: readonly string[]): fc.Arbitrary<string | undefined> =>
  fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.constantFrom('Created', ...phases) });

const flaps = (flap: fc.Arbitrary<Flap>): fc.Arbitrary<Flap[]> =>
  fc.oneof({ weight: 8, arbitrary: fc.constant<never[]>([]) }, { weight: 2, arbitrary: fc.array(flap, { minLength: 1, maxLength: 40 }) });

const hostileAgent: fc.Arbitrary<AgentPlan> = fc.record({
  kind: fc.constant('Agent' as const),
  spec: agentSpec as fc.Arbitrary<Record<string, Json>>,
  runner: fc.constant(false),
  flaps: flaps(agentFlap),
  deleteAt: deleteAt(agentPhases),
});

const runnerAgent: fc.Arbitrary<AgentPlan> = fc.record({
  kind: fc.constant('Agent' as const),
  spec: runnerSpec,
  runner: fc.constant(true),
  flaps: fc.oneof(
    { weight: 9, arbitrary: fc.constant<never[]>([]) },
    { weight: 1, arbitrary: fc.array(fc.record({ maxConcurrentTasks: fc.integer({ min: 1, max: 8 }) }), { maxLength: 20 }) },
  ),
  deleteAt: fc.oneof({ weight: 19, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom('Ready', 'Busy') }),
});

const pin = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant('runner' as const) },
  { weight: 1, arbitrary: fc.constant('missing' as const) },
);

const loneTask: fc.Arbitrary<TaskPlan> = fc.record({
  kind: fc.constant('Task' as const),
  spec: taskSpec as fc.Arbitrary<Record<string, Json>>,
  dependsOn: fc.oneof(
    { weight: 9, arbitrary: fc.constant<never[]>([]) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom<Dep>('missing', 'any'), { minLength: 1, maxLength: 3 }) },
  ),
  pin,
  flaps: flaps(taskFlap),
  deleteAt: deleteAt(taskPhases),
});

/**
 * A workflow of `n` tasks: each depends on up to three earlier ones (a DAG), some on
 * tasks that never exist, and with `cycle` the first on the last (a cycle through it all).
 */
const workflow: fc.Arbitrary<TaskPlan[]> = fc
  .tuple(fc.integer({ min: 20, max: 300 }), fc.boolean(), fc.integer({ min: 0, max: 5 }), fc.infiniteStream(fc.nat()))
  .map(([n, cycle, missing, randoms]) => {
    const next = (): number => randoms.next().value as number;
    return Array.from({ length: n }, (_, i): TaskPlan => {
      const offsets = new Set<number>();
      if (i > 0) for (let k = next() % 4; k > 0; k--) offsets.add(-(1 + (next() % Math.min(i, 64))));
      const deps: Dep[] = [...offsets].map((offset) => ({ offset }));
      if (cycle && i === 0) deps.push({ offset: n - 1 });
      if (next() % n < missing) deps.push('missing');
      return {
        kind: 'Task',
        spec: { requiredCapabilities: ['work'], timeoutSeconds: 60, input: `step ${i}` },
        dependsOn: deps,
        flaps: [],
      };
    });
  });

/** Tasks that share one contextKey, each pinned to a different agent or none: a key that cannot sit on one agent. */
const contextFamily: fc.Arbitrary<TaskPlan[]> = fc.tuple(fc.integer({ min: 5, max: 30 }), oddString(253, { min: 1 })).map(([n, key]) =>
  Array.from({ length: n }, (_, i): TaskPlan => ({
    kind: 'Task',
    spec: { requiredCapabilities: ['work'], timeoutSeconds: 30, affinity: { contextKey: key } },
    dependsOn: [],
    ...(i % 3 === 0 ? { pin: 'runner' as const } : i % 3 === 1 ? { pin: 'missing' as const } : {}),
    flaps: [],
  })),
);

const hostilePolicy: fc.Arbitrary<PolicyPlan> = fc.record({
  kind: fc.constant('OrchestratorPolicy' as const),
  spec: policySpec,
  flaps: fc.oneof(
    { weight: 3, arbitrary: fc.constant<never[]>([]) },
    { weight: 1, arbitrary: fc.array(policySpec, { minLength: 1, maxLength: 10 }) },
  ),
  deleteAt: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constant('Created') }),
});

/** One step of the fuzz: a few objects that belong together. */
export const batch: fc.Arbitrary<Plan[]> = fc.oneof(
  { weight: 40, arbitrary: loneTask.map((t) => [t]) },
  { weight: 16, arbitrary: hostileAgent.map((a) => [a]) },
  { weight: 6, arbitrary: runnerAgent.map((a) => [a]) },
  { weight: 2, arbitrary: hostilePolicy.map((p) => [p]) },
  { weight: 1, arbitrary: workflow },
  { weight: 2, arbitrary: contextFamily },
);
