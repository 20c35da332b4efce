import { z } from 'zod';
import {
  definePlugin,
  success,
  unresolvable,
  unschedulable,
  type AgentInfo,
  type AgentObject,
  type Intent,
  type NamespaceSnapshot,
} from '../../operator/src/framework/index.ts';
import { decideCircuit, type CircuitState } from './decide.ts';

export const CONDITION = 'CircuitOpen';
export const REASONS = { open: 'circuit open', trialRunning: 'circuit half-open, trial running' } as const;

export const circuitBreakerConfig = z
  .strictObject({
    failureThreshold: z.int().min(1).max(1000).default(5).describe('Consecutive failures that open an agent’s circuit (it gets no tasks).'),
    cooldownSeconds: z.int().min(1).max(86400).default(60).describe('How long a circuit stays open before one trial task is let through.'),
  })
  .describe('Stops routing to an agent that keeps failing; spec.circuitBreaker sets the same fields.');
export type CircuitBreakerConfig = z.output<typeof circuitBreakerConfig>;

/** The circuit as this plugin last wrote it in the agent's CircuitOpen condition. */
export function circuitOf(conditions: AgentInfo['conditions']): CircuitState {
  const c = conditions[CONDITION];
  if (c?.status !== 'True') return 'closed';
  return c.reason === 'HalfOpen' ? 'half-open' : 'open';
}

const at = (iso: string | undefined): number | undefined => (iso ? Date.parse(iso) : undefined);

/**
 * The intents for one agent: its condition (none for an agent that never failed), an
 * Event when the reason changes, a look at the half-open instant, the gauge.
 */
export function circuitIntents(agent: AgentObject, config: CircuitBreakerConfig, now: number): Intent[] {
  const previous = agent.status?.conditions?.find((c) => c.type === CONDITION);
  const decision = decideCircuit({
    now,
    consecutiveFailures: agent.status?.stats?.consecutiveFailures ?? 0,
    failureThreshold: config.failureThreshold,
    cooldownMs: config.cooldownSeconds * 1000,
    previous: previous ? { open: previous.status === 'True', since: Date.parse(previous.lastTransitionTime) } : undefined,
    lastFailureAt: at(agent.status?.stats?.lastFailureTime),
  });
  const target = { kind: 'Agent', name: agent.metadata.name } as const;
  const intents: Intent[] = [];
  // A new agent without failures is closed with or without the condition: writing it
  // would cost every new agent a status write and an Event, in the budget its start needs.
  const untouched = previous === undefined && decision.state === 'closed' && (agent.status?.stats?.consecutiveFailures ?? 0) === 0;
  if (!untouched) intents.push({ kind: 'condition', target, condition: { type: CONDITION, ...decision.condition }, since: decision.since });
  if (!untouched && previous?.reason !== decision.condition.reason) {
    const warning = decision.condition.status === 'True' && decision.condition.reason !== 'HalfOpen';
    intents.push({
      kind: 'event',
      target,
      type: warning ? 'Warning' : 'Normal',
      reason: decision.condition.reason,
      message: decision.condition.message,
    });
  }
  if (decision.requeueAfterMs !== undefined) intents.push({ kind: 'requeue', afterMs: decision.requeueAfterMs });
  const value = decision.state === 'open' ? 2 : decision.state === 'half-open' ? 1 : 0;
  intents.push({
    kind: 'metric',
    name: 'agent_circuit_state',
    help: 'Circuit breaker of each agent: 0 closed, 1 half-open, 2 open',
    labels: { agent: agent.metadata.name },
    value,
  });
  return intents;
}

/**
 * Per-agent circuit breaker. Lifecycle: on every tick, each agent's circuit is decided
 * from its consecutive failures (decide.ts) and kept in its CircuitOpen condition, whose
 * lastTransitionTime is when it opened, so the state survives operator restarts. Filter:
 * no task for an open circuit; one trial task for a half-open one.
 */
export const circuitBreaker = definePlugin({
  name: 'circuit-breaker',
  config: circuitBreakerConfig,
  settingsFrom: (spec) => spec.circuitBreaker as Readonly<Record<string, unknown>> | undefined,
  // spec.plugins is free-form in the CRD: these refuse a bad value at `kubectl apply`.
  admission: (['failureThreshold', 'cooldownSeconds'] as const).map((field) => {
    const [min, max] = field === 'failureThreshold' ? [1, 1000] : [1, 86400];
    const at = `object.spec.plugins['circuit-breaker']`;
    return {
      resource: 'orchestratorpolicies',
      expression: `!has(object.spec.plugins) || !('circuit-breaker' in object.spec.plugins) || !has(${at}.${field}) || (type(${at}.${field}) == int && ${at}.${field} >= ${min} && ${at}.${field} <= ${max})`,
      message: `spec.plugins.circuit-breaker.${field} must be a whole number from ${min} to ${max}`,
    };
  }),
  routing: () => ({
    filter(_task, agent, state) {
      const circuit = circuitOf(agent.conditions);
      if (circuit === 'open') return unresolvable(REASONS.open);
      // A half-open circuit lets exactly one trial through: one given earlier in this
      // cycle counts as well as one already running.
      if (circuit === 'half-open' && state.load(agent) > 0) return unschedulable(REASONS.trialRunning);
      return success;
    },
  }),
  lifecycle: (config) => ({
    onTick: (snapshot: NamespaceSnapshot) =>
      snapshot.agents.filter((a) => a.metadata.deletionTimestamp === undefined).flatMap((a) => circuitIntents(a, config, snapshot.now)),
  }),
});
