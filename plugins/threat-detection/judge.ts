// Pure judging of an agent's refusals: what counts, how many, and what the quarantine
// becomes. No clock (now is an argument), no I/O.
import type { RefusalLog } from '../../operator/src/api/agent.ts';

export const CONDITION = 'Quarantined';
export const REASON = { quarantined: 'RepeatedRefusals', released: 'Released', cooledDown: 'CooldownOver' } as const;
/** On an Agent, set by a person: an RFC 3339 instant at or after the quarantine began releases it. */
export const RELEASE_ANNOTATION = 'agents.orchestrator.dev/release-quarantine';

export type Entry = NonNullable<RefusalLog['recent']>[number];

/** What the agent may have been refused without meaning harm (see isExcused). */
export interface Own {
  /** The Agent's name: its identity is agent-<name>, as are its Lease, Role and account. */
  readonly agent: string;
  /** Tasks that are or were assigned to it (RBAC's cache lags the Role that grants them). */
  readonly tasks: ReadonlySet<string>;
}

const READS = new Set(['get', 'list', 'watch']);

/**
 * A refusal that is not evidence: RBAC refusing the agent its own Lease, Agent or Role
 * (in the moments before the Role exists), or a Task that is or was assigned to it (the
 * Role names a Task a moment before RBAC's cache lets it be read; a stale write after a
 * reassignment). An admission policy's refusal is always evidence: it refused a write the
 * agent's RBAC allowed, what a runner never asks for on its own.
 */
export function isExcused(e: Entry, own: Own): boolean {
  if (e.message?.includes('ValidatingAdmissionPolicy') === true) return false;
  const identity = `agent-${own.agent}`;
  const [resource = ''] = e.resource.split('/');
  if (e.name === undefined) return false;
  switch (resource) {
    case 'leases':
    case 'roles':
      return e.name === identity;
    case 'agents':
      return e.name === own.agent;
    case 'tasks':
      return own.tasks.has(e.name);
    case 'serviceaccounts':
    case 'rolebindings':
      return e.name === identity && READS.has(e.verb);
    default:
      return false;
  }
}

export interface Tally {
  /** Refusals counted in the window: the larger of the two sources (one refusal is seen by both). */
  readonly count: number;
  /** The most frequent kind of refusal counted, for the message. */
  readonly top?: Entry & { readonly times: number };
}

const keyOf = (e: Entry): string => JSON.stringify([e.verb, e.resource, e.name ?? '', e.namespace ?? '']);

/** Refusals of one source after `from` (exclusive) and at or before `to`, excused ones left out. */
function tallyOne(
  log: RefusalLog | undefined,
  own: Own,
  from: number,
  to: number,
): { count: number; kinds: Map<string, Entry & { times: number }> } {
  const kinds = new Map<string, Entry & { times: number }>();
  let count = 0;
  for (const e of log?.recent ?? []) {
    const at = Date.parse(e.time);
    if (!(at > from && at <= to) || isExcused(e, own)) continue;
    count += e.count;
    const k = keyOf(e);
    const kind = kinds.get(k);
    kinds.set(k, { ...e, times: (kind?.times ?? 0) + e.count });
  }
  return { count, kinds };
}

/** The refusals of both sources in (from, to]: the larger count, and what was tried most. */
export function tally(sources: readonly (RefusalLog | undefined)[], own: Own, from: number, to: number): Tally {
  let best: Tally = { count: 0 };
  for (const log of sources) {
    const { count, kinds } = tallyOne(log, own, from, to);
    if (count <= best.count) continue;
    let top: (Entry & { times: number }) | undefined;
    for (const kind of kinds.values()) if (top === undefined || kind.times > top.times) top = kind;
    best = top === undefined ? { count } : { count, top };
  }
  return best;
}

/** The Quarantined condition as the plugin last wrote it. */
export interface Previous {
  readonly status: string;
  readonly reason: string;
  readonly message: string;
  /** Its lastTransitionTime. */
  readonly since: number;
}

export interface Settings {
  readonly threshold: number;
  readonly windowMs: number;
  /** 0: only a person releases. */
  readonly cooldownMs: number;
}

export interface Decision {
  /** released: on the tick a quarantine ends; clear afterwards. */
  readonly state: 'clear' | 'quarantined' | 'released';
  /** Undefined while the agent never was quarantined: nothing to write. */
  readonly condition?: { readonly status: 'True' | 'False'; readonly reason: string; readonly message: string };
  readonly since?: number;
  /** True on the tick the state changed: the Event and the agent action go with it. */
  readonly changed: boolean;
  /** Refusals counted now (the gauge). */
  readonly count: number;
  readonly requeueAfterMs?: number;
}

function describeTop(agent: string, t: Tally, windowMs: number): string {
  const seconds = Math.round(windowMs / 1000);
  if (t.top === undefined) return `agent-${agent} was refused ${t.count} times in ${seconds}s`;
  const { verb, resource, name, namespace, times } = t.top;
  const what = `${verb} ${resource}${name === undefined ? '' : ` ${name}`}${namespace === undefined ? '' : ` in ${namespace}`}`;
  const others = t.count - times;
  return `agent-${agent} tried ${what} (403) ${times} times in ${seconds}s${others > 0 ? ` and was refused ${others} more times` : ''}`;
}

/** When a release annotation's value releases the quarantine that began at `since`. */
export function releases(annotation: string | undefined, since: number): boolean {
  if (annotation === undefined) return false;
  const at = Date.parse(annotation);
  // Whole seconds, as kubectl and `date -u +%FT%TZ` write them: an annotation written in the
  // second the quarantine began releases it.
  return !Number.isNaN(at) && at >= Math.floor(since / 1000) * 1000;
}

/**
 * The quarantine after this tick. A quarantine begins when `threshold` refusals fall in
 * the window; it holds until a person releases it (the annotation, dated at or after it
 * began) or, with a cooldown, until the cooldown is over. Refusals before a release are
 * forgiven: the window starts again at the release.
 */
export function decide(input: {
  readonly now: number;
  readonly agent: string;
  readonly sources: readonly (RefusalLog | undefined)[];
  readonly own: Own;
  readonly previous: Previous | undefined;
  readonly annotation: string | undefined;
  readonly settings: Settings;
}): Decision {
  const { now, agent, sources, own, previous, annotation, settings } = input;
  const quarantined = previous?.status === 'True' && previous.reason === REASON.quarantined;
  if (quarantined) {
    const since = previous.since;
    const held = tally(sources, own, now - settings.windowMs, now).count;
    if (releases(annotation, since)) {
      return {
        state: 'released',
        condition: { status: 'False', reason: REASON.released, message: `released by ${RELEASE_ANNOTATION} ${annotation ?? ''}` },
        since: now,
        changed: true,
        count: 0,
      };
    }
    if (settings.cooldownMs > 0 && now >= since + settings.cooldownMs) {
      return {
        state: 'released',
        condition: {
          status: 'False',
          reason: REASON.cooledDown,
          message: `released after the cooldown of ${Math.round(settings.cooldownMs / 1000)}s; earlier refusals are forgiven`,
        },
        since: now,
        changed: true,
        count: 0,
      };
    }
    return {
      state: 'quarantined',
      condition: { status: 'True', reason: REASON.quarantined, message: previous.message },
      since,
      changed: false,
      count: held,
      ...(settings.cooldownMs > 0 ? { requeueAfterMs: since + settings.cooldownMs - now } : {}),
    };
  }
  // After a release only what came later counts.
  const from = Math.max(now - settings.windowMs, previous?.status === 'False' ? previous.since : -Infinity);
  const t = tally(sources, own, from, now);
  if (t.count >= settings.threshold) {
    const release =
      settings.cooldownMs > 0
        ? `released after ${Math.round(settings.cooldownMs / 1000)}s, or sooner with`
        : 'no new tasks until a person releases it with';
    return {
      state: 'quarantined',
      condition: {
        status: 'True',
        reason: REASON.quarantined,
        message: `${describeTop(agent, t, settings.windowMs)}: quarantined, ${release} kubectl annotate agent ${agent} --overwrite ${RELEASE_ANNOTATION}=$(date -u +%FT%TZ)`,
      },
      since: now,
      changed: true,
      count: t.count,
      ...(settings.cooldownMs > 0 ? { requeueAfterMs: settings.cooldownMs } : {}),
    };
  }
  // Below the threshold no tick is needed until a refusal is written: the count only falls
  // as time passes.
  return previous === undefined
    ? { state: 'clear', changed: false, count: t.count }
    : {
        state: 'clear',
        condition: { status: 'False', reason: previous.reason, message: previous.message },
        since: previous.since,
        changed: false,
        count: t.count,
      };
}
