import type { AgentInfo, CycleState, StateKey, TaskInfo } from './types.ts';

/** The cycle's own view of CycleState: plugins read it, only the cycle reserves. */
export interface CycleLedger extends CycleState {
  /** Counts `task` against `agent`; false when the pair was already reserved. */
  reserve(task: TaskInfo, agent: AgentInfo): boolean;
  /** Undoes `reserve` exactly; false when the pair was not reserved. */
  unreserve(task: TaskInfo, agent: AgentInfo): boolean;
  /** Clears the per-task data before the next task is routed. */
  beginTask(): void;
}

/** mulberry32: tiny, fast and good enough to pick agents; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next === 0) counts.delete(key);
  else counts.set(key, next);
}

export function createCycleLedger(now: number, seed: number): CycleLedger {
  // Only the growth within the cycle is stored; AgentInfo.active is the baseline.
  const added = new Map<string, number>();
  let scratch = new Map<string, unknown>();
  // A NUL cannot appear in a Kubernetes name, so the pair key is unambiguous.
  const pairs = new Set<string>();
  const random = seededRandom(seed);
  return {
    now,
    load: (agent) => agent.active + (added.get(agent.key) ?? 0),
    assignedThisCycle: (agent) => added.get(agent.key) ?? 0,
    random,
    read: <T>(key: StateKey<T>) => scratch.get(key.name) as T | undefined,
    write(key, value) {
      scratch.set(key.name, value);
    },
    beginTask() {
      if (scratch.size > 0) scratch = new Map();
    },
    reserve(task, agent) {
      const pair = `${task.key}\u0000${agent.key}`;
      if (pairs.has(pair)) return false;
      pairs.add(pair);
      bump(added, agent.key, 1);
      return true;
    },
    unreserve(task, agent) {
      const pair = `${task.key}\u0000${agent.key}`;
      if (!pairs.delete(pair)) return false;
      bump(added, agent.key, -1);
      return true;
    },
  };
}
