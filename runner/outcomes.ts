import type { Logger } from 'pino';
import type { Clock } from '../operator/src/runtime/clock.ts';
import { messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { AgentStatus } from '../operator/src/api/agent.ts';
import { RECENT_OUTCOMES } from '../operator/src/api/names.ts';
import { agentStats } from './agent.ts';
import type { ExecutionResult } from './executors/executor.ts';
import { updateOwnStatus } from './agent-status.ts';
import type { FinishedRun } from './task-runner.ts';
import { rfc3339 } from '../operator/src/core/timestamp.ts';
import { addTokens } from '../operator/src/core/accounting.ts';

export interface OutcomeTarget {
  client: RestClient;
  namespace: string;
  agent: string;
  /** The Agent's context window, to turn reported tokens into a percentage. */
  windowTokens: number | undefined;
  clock: Clock;
  logger: Logger;
}

type Recent = NonNullable<NonNullable<AgentStatus['stats']>['recent']>;

/** The last RECENT_OUTCOMES attempts with this one at the end; an attempt already there is not counted twice. */
export function withRecent(recent: Recent | undefined, run: FinishedRun, outcome: Recent[number]['outcome']): Recent {
  const kept = (recent ?? []).filter((r) => r.task !== run.task || r.attempt !== run.attempt);
  return [...kept, { ...run, outcome }].slice(-RECENT_OUTCOMES);
}

/**
 * Counts a finished task on the Agent (`status.stats`: the circuit breaker reads
 * consecutiveFailures and lastFailureTime, the anomaly plugin `recent`) and reports
 * context usage and adds the attempt's tokens to `stats.usage` when the executor had any. A read-modify-write on the resourceVersion,
 * retried on conflict.
 */
export async function recordOutcome(t: OutcomeTarget, result: ExecutionResult, run: FinishedRun): Promise<void> {
  // Cancelled attempts are handed back, never counted.
  if (result.outcome === 'Cancelled') return;
  const outcome = result.outcome;
  try {
    await updateOwnStatus(t.client, t.namespace, t.agent, (live) => {
      const stats = agentStats(live);
      const { recent, usage } = live.status?.stats ?? {};
      // A write whose answer was lost got through: counting it again would count it twice.
      if (recent?.some((r) => r.task === run.task && r.attempt === run.attempt)) return undefined;
      const ok = result.outcome === 'Succeeded';
      return {
        stats: {
          succeeded: stats.succeeded + (ok ? 1 : 0),
          failed: stats.failed + (ok ? 0 : 1),
          consecutiveFailures: ok ? 0 : stats.consecutiveFailures + 1,
          ...(ok ? {} : { lastFailureTime: rfc3339(t.clock.now()) }),
          recent: withRecent(recent, run, outcome),
          ...(result.usage ? { usage: addTokens(usage, result.usage) } : {}),
        },
        ...(result.usage?.contextTokens !== undefined ? { contextUsage: contextUsage(result.usage.contextTokens, t.windowTokens) } : {}),
      };
    });
  } catch (err) {
    t.logger.warn({ err: messageOf(err) }, 'could not record the outcome on the Agent');
  }
}

/** The context in use, and its share of the window (0 when the Agent sets no window). */
export function contextUsage(tokens: number, windowTokens: number | undefined): { tokens: number; percent: number } {
  return { tokens, percent: windowTokens ? Math.min(100, Math.round((100 * tokens) / windowTokens)) : 0 };
}
