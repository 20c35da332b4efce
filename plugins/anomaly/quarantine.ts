// Quarantine as a pure function of the judged attempts and the agent's Degraded
// condition, which is the plugin's only memory: its reason says quarantined, probing or
// released, its lastTransitionTime since when. Half-open like the circuit breaker: after
// the cooldown one probe task is let through; a normal probe releases the agent, an
// anomalous one starts another cooldown.
import { rfc3339 } from '../../operator/src/framework/index.ts';
import { streakOf, type Judged, type KindFigures } from './detect.ts';

export const CONDITION = 'Degraded';
export const REASON = {
  quarantined: 'Anomalous',
  probing: 'AnomalyProbe',
  held: 'AnomalousNotQuarantined',
  released: 'AnomalyReleased',
  normal: 'Normal',
} as const;

export type State = 'normal' | 'quarantined' | 'probing' | 'held';

export interface Previous {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly since: number;
}

export interface QuarantineInput {
  readonly now: number;
  readonly kinds: readonly KindFigures[];
  readonly previous?: Previous | undefined;
  readonly consecutive: number;
  readonly cooldownMs: number;
}

export interface Decision {
  readonly state: State;
  readonly condition: { readonly status: 'True' | 'False'; readonly reason: string; readonly message: string };
  readonly since: number;
  /** When to look again (the end of a cooldown). */
  readonly requeueAfterMs?: number;
  /** How anomalous, for ordering agents when the fleet guard holds some back. */
  readonly severity: number;
  /** A new streak found: what it was, for the condition of an agent the fleet guard holds back. */
  readonly finding?: string;
}

const seconds = (ms: number): string => (ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(2)}s`);
const kindName = (capabilities: string): string => (capabilities === '' ? 'tasks without capabilities' : `${capabilities} tasks`);

/** What the streak was, in figures a person can check against the task history. */
export function describeStreak(kind: KindFigures, streak: readonly Judged[]): string {
  const slow = streak.filter((j) => j.slow);
  const parts: string[] = [];
  if (slow.length > 0) {
    const ms = slow.map((j) => j.attempt.durationMs).sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)] ?? 0;
    const worst = Math.max(...slow.map((j) => j.score ?? 0));
    const ratio = kind.typicalMs > 0 ? ` (${(median / kind.typicalMs).toFixed(1)}x)` : '';
    parts.push(
      `median ${seconds(median)} against a typical ${seconds(kind.typicalMs)}${ratio}, up to ${Number.isFinite(worst) ? worst.toFixed(1) : 'inf'} deviations`,
    );
  }
  if (streak.some((j) => j.failing)) parts.push(`failure rate ${(streak.at(-1)?.failureRate ?? 0).toFixed(2)}`);
  return `${streak.length} anomalous ${kindName(kind.capabilities)} in a row: ${parts.join('; ')}`;
}

function severityOf(streak: readonly Judged[]): number {
  return Math.max(0, ...streak.map((j) => (j.failing ? Math.max(j.score ?? 0, 10 * j.failureRate) : (j.score ?? 0))));
}

/** The longest streak (at least `consecutive`) of anomalous attempts after `after`, over the agent's kinds. */
function worstStreak(
  kinds: readonly KindFigures[],
  after: number,
  consecutive: number,
): { kind: KindFigures; streak: readonly Judged[] } | undefined {
  let worst: { kind: KindFigures; streak: readonly Judged[] } | undefined;
  for (const kind of kinds) {
    const streak = streakOf(kind, after);
    if (streak.length >= consecutive && (worst === undefined || severityOf(streak) > severityOf(worst.streak))) worst = { kind, streak };
  }
  return worst;
}

function find(kinds: readonly KindFigures[], after: number): { kind: KindFigures; judged: Judged } | undefined {
  let first: { kind: KindFigures; judged: Judged } | undefined;
  for (const kind of kinds) {
    const judged = kind.attempts.find((j) => j.attempt.completedAt > after);
    if (judged && (first === undefined || judged.attempt.completedAt < first.judged.attempt.completedAt)) first = { kind, judged };
  }
  return first;
}

const quarantinedSince = (p: Previous | undefined): number | undefined =>
  p?.status === 'True' && (p.reason === REASON.quarantined || p.reason === REASON.probing) ? p.since : undefined;

export function decideQuarantine(o: QuarantineInput): Decision {
  const { now, kinds, previous, consecutive, cooldownMs } = o;
  const since = quarantinedSince(previous);
  if (since !== undefined) {
    const probeFrom = since + cooldownMs;
    const probe = find(kinds, probeFrom);
    if (probe === undefined) {
      if (now < probeFrom) {
        return {
          state: 'quarantined',
          condition: {
            status: 'True',
            reason: REASON.quarantined,
            message:
              previous?.reason === REASON.quarantined ? previous.message : `quarantined until ${rfc3339(probeFrom)}, then one probe task`,
          },
          since,
          requeueAfterMs: probeFrom - now,
          severity: Number.POSITIVE_INFINITY,
        };
      }
      return {
        state: 'probing',
        condition: {
          status: 'True',
          reason: REASON.probing,
          message: `quarantine cooldown ended at ${rfc3339(probeFrom)}: one probe task is let through; a normal result releases the agent, an anomalous one quarantines it again`,
        },
        since,
        severity: Number.POSITIVE_INFINITY,
      };
    }
    if (probe.judged.anomalous) {
      const again = probe.judged.attempt.completedAt;
      return {
        state: 'quarantined',
        condition: {
          status: 'True',
          reason: REASON.quarantined,
          message: `the probe task ${probe.judged.attempt.task} was anomalous too (${describeStreak(probe.kind, [probe.judged]).replace(/^1 anomalous [^:]*: /, '')}): quarantined until ${rfc3339(again + cooldownMs)}, then another probe`,
        },
        since: again,
        ...(now < again + cooldownMs ? { requeueAfterMs: again + cooldownMs - now } : {}),
        severity: Number.POSITIVE_INFINITY,
      };
    }
    const released = probe.judged.attempt.completedAt;
    return {
      state: 'normal',
      condition: {
        status: 'False',
        reason: REASON.released,
        message: `released at ${rfc3339(released)}: the probe task ${probe.judged.attempt.task} was normal`,
      },
      since: released,
      severity: 0,
    };
  }

  // Attempts before a release were judged already: a new quarantine needs a new streak.
  const after = previous?.status === 'False' ? previous.since : Number.NEGATIVE_INFINITY;
  const worst = worstStreak(kinds, after, consecutive);
  if (worst === undefined) {
    const keep = previous?.status === 'False' ? previous : undefined;
    return {
      state: 'normal',
      condition: keep
        ? { status: 'False', reason: keep.reason, message: keep.message }
        : { status: 'False', reason: REASON.normal, message: 'no anomalous streak' },
      since: keep ? keep.since : now,
      severity: 0,
    };
  }
  const last = worst.streak.at(-1)?.attempt.completedAt ?? now;
  // Dated at the streak's last attempt, so a restarted operator decides the same; an
  // agent the fleet guard held back is quarantined from when the guard lets it.
  const start = previous?.reason === REASON.held ? now : Math.min(now, Math.max(after, last));
  return {
    state: 'quarantined',
    condition: {
      status: 'True',
      reason: REASON.quarantined,
      message: `${describeStreak(worst.kind, worst.streak)}: quarantined until ${rfc3339(start + cooldownMs)}, then one probe task`,
    },
    finding: describeStreak(worst.kind, worst.streak),
    since: start,
    ...(now < start + cooldownMs ? { requeueAfterMs: start + cooldownMs - now } : {}),
    severity: severityOf(worst.streak),
  };
}
