// Recovery of agents that keep failing, as a pure function. The runner counts an agent's
// consecutive failures (a success resets them); at `restartAfterFailures` the plugin asks
// the host to restart the agent's workload (the host writes the restart annotation, the
// agent controller replaces the workload). It asks again only after a new failure and a
// backoff that doubles with each restart, at most `maxRestarts` times until a task
// succeeds. The count lives in the agent's Recovering condition, so it survives operator
// restarts: the condition is this plugin's memory, as CircuitOpen is the circuit breaker's.
// A restart is recorded first (the condition, with its time) and carried out on the next
// tick (the annotation): the two are separate writes, and whichever fails, the next tick
// sees what is left to do. Carried out first, a restart whose record then failed would
// look like a person's and never be counted.
import { RESTART_ANNOTATION } from '../../operator/src/api/common.ts';
import { rfc3339, type AgentObject, type Intent } from '../../operator/src/framework/index.ts';
import type { RecoveryConfig } from './config.ts';

export const RECOVERING_CONDITION = 'Recovering';

export interface RecoveryObservation {
  readonly now: number;
  readonly consecutiveFailures: number;
  readonly lastFailureAt?: number | undefined;
  /** The restart annotation: when a restart was last asked for. */
  readonly restartedAt?: number | undefined;
  /** Restarts this plugin made since the agent's last success (its Recovering condition); 0 when none. */
  readonly restarts: number;
  /** Consecutive failures when this plugin last restarted the agent (its Recovering condition). */
  readonly failuresAtRestart?: number | undefined;
  /** When this plugin last recorded a restart (its Recovering condition); carried out once the annotation is as recent. */
  readonly requestedAt?: number | undefined;
  /** The Recovering condition's reason, if it is True. */
  readonly reason?: string | undefined;
}

export type RecoveryDecision =
  /** Nothing to do or say. */
  | { readonly kind: 'none' }
  /** A task succeeded after restarts: the episode is over. */
  | { readonly kind: 'recovered' }
  /** Restart now; this is restart number `restart` since the last success: record it. */
  | { readonly kind: 'restart'; readonly restart: number }
  /** Restart `restart` is recorded but the annotation does not show it yet: write it. */
  | { readonly kind: 'actuate'; readonly restart: number }
  /** Restarted, failed again, and the backoff has not passed: look again at `at`. */
  | { readonly kind: 'backoff'; readonly at: number }
  /** As many restarts as maxRestarts allows: no more until a success. */
  | { readonly kind: 'limit' };

export function backoffMs(config: Pick<RecoveryConfig, 'backoffSeconds'>, restarts: number): number {
  return config.backoffSeconds * 1000 * 2 ** Math.max(0, restarts - 1);
}

export function decideRecovery(o: RecoveryObservation, config: RecoveryConfig): RecoveryDecision {
  if (o.consecutiveFailures < config.restartAfterFailures)
    return o.restarts > 0 || o.reason !== undefined ? { kind: 'recovered' } : { kind: 'none' };
  if (o.requestedAt !== undefined && o.restarts > 0 && (o.restartedAt === undefined || o.restartedAt < o.requestedAt))
    return { kind: 'actuate', restart: o.restarts };
  // Not failed since the last restart: wait for the restart to show whether it helped.
  // After one of ours the count says it exactly (consecutive failures only grow until a
  // success); after a person's, only the times can, in whole seconds, so a failure in the
  // same second as the restart counts as before it.
  const failedSince =
    o.failuresAtRestart !== undefined
      ? o.consecutiveFailures > o.failuresAtRestart
      : o.restartedAt === undefined || (o.lastFailureAt !== undefined && o.lastFailureAt > o.restartedAt);
  if (!failedSince) return { kind: 'none' };
  if (config.maxRestarts !== undefined && o.restarts >= config.maxRestarts) return { kind: 'limit' };
  if (o.restarts > 0 && o.restartedAt !== undefined) {
    const at = o.restartedAt + backoffMs(config, o.restarts);
    if (o.now < at) return { kind: 'backoff', at };
  }
  return { kind: 'restart', restart: o.restarts + 1 };
}

const parse = (t: string | undefined): number | undefined => {
  const ms = t === undefined ? NaN : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
};
const times = (n: number): string => `${n} time${n === 1 ? '' : 's'}`;

/**
 * What a Recovering condition records, from the head of its message: "restarted N
 * time(s) since its last success, the last after F consecutive failures".
 */
export function recordOf(message: string | undefined): { restarts: number; failuresAtRestart?: number; requestedAt?: number } {
  const m = /^restarted (\d+) times? since its last success, the last after (\d+) consecutive failures?\b(?:, at (\S+?Z)\b)?/.exec(
    message ?? '',
  );
  if (m?.[1] === undefined || m[2] === undefined) return { restarts: 0 };
  const requestedAt = parse(m[3]);
  return { restarts: Number(m[1]), failuresAtRestart: Number(m[2]), ...(requestedAt !== undefined ? { requestedAt } : {}) };
}

const head = (restarts: number, failures: number): string =>
  `restarted ${times(restarts)} since its last success, the last after ${failures} consecutive failure${failures === 1 ? '' : 's'}`;

/** The intents for one agent: a restart, its Recovering condition, an Event when the episode ends or hits its limit. */
export function recoveryIntents(agent: AgentObject, config: RecoveryConfig, now: number): Intent[] {
  if (agent.metadata.deletionTimestamp !== undefined || agent.spec.desiredState === 'Sleeping') return [];
  const condition = agent.status?.conditions?.find((c) => c.type === RECOVERING_CONDITION);
  const active = condition?.status === 'True';
  const failures = agent.status?.stats?.consecutiveFailures ?? 0;
  const record = active ? recordOf(condition.message) : { restarts: 0 };
  const restarts = record.restarts;
  const decision = decideRecovery(
    {
      now,
      consecutiveFailures: failures,
      lastFailureAt: parse(agent.status?.stats?.lastFailureTime),
      restartedAt: parse(agent.metadata.annotations?.[RESTART_ANNOTATION]),
      restarts,
      failuresAtRestart: record.failuresAtRestart,
      requestedAt: record.requestedAt,
      reason: active ? condition.reason : undefined,
    },
    config,
  );
  const name = agent.metadata.name;
  const target = { kind: 'Agent', name } as const;
  const limit = config.maxRestarts === undefined ? '' : ` (recovery.maxRestarts ${config.maxRestarts})`;
  switch (decision.kind) {
    case 'none':
      return [];
    case 'recovered':
      return [
        {
          kind: 'condition',
          target,
          condition: {
            type: RECOVERING_CONDITION,
            status: 'False',
            reason: 'Recovered',
            message: `fewer than ${config.restartAfterFailures} consecutive failures again after ${restarts} restart${restarts === 1 ? '' : 's'}`,
          },
        },
        {
          kind: 'event',
          target,
          type: 'Normal',
          reason: 'Recovered',
          message: `agent ${name} works again (${failures} consecutive failures) after being restarted ${times(restarts)}`,
        },
      ];
    case 'backoff':
      return [{ kind: 'requeue', afterMs: decision.at - now }];
    case 'limit': {
      if (condition?.reason === 'RestartLimitReached') return [];
      const message = `${head(restarts, record.failuresAtRestart ?? failures)}; as many as recovery.maxRestarts allows: no more restarts until a task succeeds (${failures} consecutive failures now)`;
      return [
        { kind: 'condition', target, condition: { type: RECOVERING_CONDITION, status: 'True', reason: 'RestartLimitReached', message } },
        { kind: 'event', target, type: 'Warning', reason: 'RestartLimitReached', message: `agent ${name}: ${message}` },
      ];
    }
    case 'actuate': {
      const why = `${record.failuresAtRestart ?? failures} consecutive failures (recovery.restartAfterFailures ${config.restartAfterFailures})`;
      return [
        {
          kind: 'agent',
          agent: name,
          action: 'restart',
          reason: 'RecoveryRestart',
          message: `${why}: restart ${decision.restart}${limit} since its last success`,
        },
      ];
    }
    case 'restart': {
      const next = backoffMs(config, decision.restart);
      return [
        {
          kind: 'condition',
          target,
          condition: {
            type: RECOVERING_CONDITION,
            status: 'True',
            reason: 'Restarted',
            message: `${head(decision.restart, failures)}, at ${rfc3339(now)}${limit}; another restart needs a new failure and waits ${Math.round(next / 1000)}s`,
          },
        },
      ];
    }
  }
}
