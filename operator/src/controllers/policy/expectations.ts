import type { KubeObject } from '../../runtime/rest/object.ts';

type Check = (obj: KubeObject | undefined) => boolean;

/**
 * Writes a pool has made that the cache has not shown yet, like the ReplicaSet
 * controller's expectations: until the cache catches up, a second look would count the
 * pool as it was and create (or remove) the same agents again. An expectation the cache
 * never meets lapses after `ttlMs`, so a lost watch event cannot freeze a pool.
 */
export class Expectations {
  private readonly pending = new Map<string, Map<string, { check: Check; until: number }>>();
  private readonly ttlMs: number;

  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }

  expect(pool: string, agentKey: string, check: Check, now: number): void {
    let forPool = this.pending.get(pool);
    if (!forPool) {
      forPool = new Map<string, { check: Check; until: number }>();
      this.pending.set(pool, forPool);
    }
    forPool.set(agentKey, { check, until: now + this.ttlMs });
  }

  /** Whether the cache shows every write of the pool (met ones are dropped). */
  met(pool: string, lookup: (agentKey: string) => KubeObject | undefined, now: number): boolean {
    const forPool = this.pending.get(pool);
    if (!forPool) return true;
    for (const [key, e] of forPool) {
      if (e.until <= now || e.check(lookup(key))) forPool.delete(key);
    }
    if (forPool.size === 0) this.pending.delete(pool);
    return forPool.size === 0;
  }

  forget(prefix: string): void {
    for (const pool of this.pending.keys()) if (pool.startsWith(prefix)) this.pending.delete(pool);
  }
}
