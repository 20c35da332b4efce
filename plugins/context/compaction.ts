// The compaction cycle of one agent, kept in its ContextCompaction condition so an
// operator restart resumes it where it was. The runner writes its own part (the reasons
// in RUNNER_REASONS) on the same condition; this decides the operator's part.
import { COMPACTION_ANSWERS, CONTEXT_COMPACTION_CONDITION } from '../../operator/src/api/names.ts';

export const CONDITION = CONTEXT_COMPACTION_CONDITION;

/** What the runner writes: it compacted, it came back recycled, or it cannot compact. */
export const RUNNER_REASONS = COMPACTION_ANSWERS;

export interface CompactionInput {
  readonly now: number;
  readonly windowTokens: number;
  readonly compactAtPercent: number;
  /** status.contextUsage: what the runner last reported. */
  readonly tokens: number;
  readonly percent: number;
  readonly activeTasks: number;
  readonly condition?: { readonly status: string; readonly reason: string; readonly message: string; readonly since: number } | undefined;
  readonly compactTimeoutMs: number;
  readonly recycleTimeoutMs: number;
}

export interface CompactionStep {
  readonly condition?: { readonly status: 'True' | 'False'; readonly reason: string; readonly message: string };
  readonly event?: { readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string };
  /** Restart the agent's workload: a fresh context (the runner saved a summary first). */
  readonly restart?: string;
  readonly requeueAfterMs?: number;
}

const usage = (i: CompactionInput): string => `${i.percent}% of ${i.windowTokens} tokens`;

/** The next step of the cycle; {} when there is nothing to do. */
export function compactionStep(i: CompactionInput): CompactionStep {
  const c = i.condition;
  const inCycle = c?.status === 'True';
  if (!inCycle) {
    if (i.percent < i.compactAtPercent) return {};
    const why = `context at ${usage(i)} (spec.context.compactAtPercent ${i.compactAtPercent})`;
    const draining = i.activeTasks > 0;
    const message = draining
      ? `${why}: no new tasks; the runner compacts once the ${i.activeTasks} running task(s) finish`
      : `${why}: no new tasks while the runner compacts`;
    return {
      condition: { status: 'True', reason: draining ? 'Draining' : 'Compacting', message },
      event: { type: 'Normal', reason: 'ContextCompactionStarted', message },
    };
  }
  const waited = i.now - c.since;
  switch (c.reason) {
    case 'Draining':
      if (i.activeTasks > 0) return {};
      return {
        condition: { status: 'True', reason: 'Compacting', message: `drained: asking the runner to compact its context (${usage(i)})` },
      };
    case 'Compacting':
      if (waited < i.compactTimeoutMs) return { requeueAfterMs: i.compactTimeoutMs - waited };
      return recycle(`the runner did not compact within ${i.compactTimeoutMs / 1000}s`, i);
    case RUNNER_REASONS.cannot:
      return recycle(`the agent cannot compact itself (${c.message})`, i);
    case 'Recycling':
      if (waited < i.recycleTimeoutMs) return { requeueAfterMs: i.recycleTimeoutMs - waited };
      return finish(
        'False',
        'CompactionFailed',
        `the restarted runner did not report a fresh context within ${i.recycleTimeoutMs / 1000}s: check the agent's workload; routing resumes (${usage(i)})`,
        'Warning',
      );
    case RUNNER_REASONS.compacted:
      return finish('False', 'Compacted', `compacted by the agent: ${c.message}; context now ${usage(i)}`, 'Normal');
    case RUNNER_REASONS.recycled:
      return finish('False', 'Recycled', `recycled with a fresh context: ${c.message}; context now ${usage(i)}`, 'Normal');
    default:
      return {};
  }
}

function recycle(why: string, i: CompactionInput): CompactionStep {
  const message = `${why}: recycling it (restarted with a fresh context, seeded with the summary its runner saved)`;
  return {
    condition: { status: 'True', reason: 'Recycling', message },
    event: { type: 'Normal', reason: 'ContextRecycling', message },
    restart: message,
    requeueAfterMs: i.recycleTimeoutMs,
  };
}

function finish(status: 'False', reason: string, message: string, type: 'Normal' | 'Warning'): CompactionStep {
  return {
    condition: { status, reason, message },
    event: { type, reason: type === 'Normal' ? 'ContextCompacted' : 'ContextCompactionFailed', message },
  };
}
