// Refused requests of an agent's identity, gathered between two status writes and merged
// into the Agent's status.refusals (the runner's reported log, the operator's audited
// one). Pure: no clock (instants are arguments), no I/O, no zod (the runner loads it).
import type { RefusalLog } from '../api/agent.ts';
import { RECENT_REFUSALS } from '../api/names.ts';

export type RefusalEntry = NonNullable<RefusalLog['recent']>[number];

/** One refused request: what was asked, of what. */
export interface Refusal {
  readonly verb: string;
  readonly resource: string;
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly message?: string | undefined;
}

const MESSAGE_CHARS = 256;

const keyOf = (r: Refusal): string => JSON.stringify([r.verb, r.resource, r.name ?? '', r.namespace ?? '']);

/**
 * The refusals since the last write, alike ones (verb, resource, name, namespace) as one
 * entry with a count: a storm of one refusal costs one entry. At most RECENT_REFUSALS
 * entries: beyond them, refusals of names not seen yet join a nameless entry of their kind,
 * so a scan of many names still counts every attempt.
 */
export class RefusalBatch {
  private readonly entries = new Map<string, RefusalEntry>();
  private counted = 0;

  add(r: Refusal, at: number, count = 1): void {
    let key = keyOf(r);
    let refusal = r;
    if (!this.entries.has(key) && this.entries.size >= RECENT_REFUSALS - 1 && r.name !== undefined) {
      refusal = { verb: r.verb, resource: r.resource, namespace: r.namespace, message: r.message };
      key = keyOf(refusal);
    }
    const had = this.entries.get(key);
    this.counted += count;
    this.entries.set(key, {
      time: new Date(Math.max(at, had ? Date.parse(had.time) : at)).toISOString(),
      verb: refusal.verb,
      resource: refusal.resource,
      ...(refusal.name === undefined ? {} : { name: refusal.name }),
      ...(refusal.namespace === undefined ? {} : { namespace: refusal.namespace }),
      count: (had?.count ?? 0) + count,
      ...(refusal.message === undefined ? {} : { message: refusal.message.slice(0, MESSAGE_CHARS) }),
    });
  }

  /** Puts back a batch whose write failed, ahead of what came since. */
  addAll(entries: readonly RefusalEntry[]): void {
    for (const e of entries) this.add(e, Date.parse(e.time), e.count);
  }

  get size(): number {
    return this.counted;
  }

  /** The entries gathered, oldest first, and an empty batch from here on. */
  take(): RefusalEntry[] {
    const taken = [...this.entries.values()].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
    this.entries.clear();
    this.counted = 0;
    return taken;
  }
}

const sameEntry = (a: RefusalEntry, b: RefusalEntry): boolean => keyOf(a) === keyOf(b) && a.time === b.time && a.count === b.count;

/**
 * The log with `batch` added: the total grows by its refusals, the recent entries keep
 * the last RECENT_REFUSALS. Undefined when the log holds the batch already (a write whose
 * answer was lost got through: counting it again would count it twice).
 */
export function withRefusals(log: RefusalLog | undefined, batch: readonly RefusalEntry[]): RefusalLog | undefined {
  if (batch.length === 0) return undefined;
  const recent = log?.recent ?? [];
  if (batch.every((b) => recent.some((e) => sameEntry(e, b)))) return undefined;
  const added = batch.reduce((n, e) => n + e.count, 0);
  return {
    total: Math.min(Number.MAX_SAFE_INTEGER, (log?.total ?? 0) + added),
    recent: [...recent, ...batch].slice(-RECENT_REFUSALS),
  };
}
