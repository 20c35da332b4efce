// The router's view of the agents, kept up to date from informer events instead of being
// rebuilt for every cycle (kube-scheduler's cache): each agent's own facts, the load its
// tasks put on it, and per-namespace indexes a cycle reads as they are.
import type { AgentCondition, AgentIndex, AgentInfo } from './types.ts';

/** What an Agent object says about itself; the cache adds what its tasks say. */
export type AgentFacts = Omit<AgentInfo, 'active' | 'contextKeys' | 'lastAssignedAt'>;

/** What one task contributes to the load of the agent it is (or was) assigned to. */
export interface Holding {
  /** The agent's key, namespace/name. */
  readonly agent: string;
  /** Assigned or Running: it takes one of the agent's slots. */
  readonly active: boolean;
  readonly assignedAt?: number | undefined;
  readonly contextKey?: string | undefined;
}

interface Load {
  /** Tasks that name the agent, active or not. */
  held: number;
  active: number;
  assumed: number;
  lastAssignedAt?: number;
  contextKeys: Map<string, number>;
}

const NO_KEYS: ReadonlySet<string> = new Set();
const ALL = Symbol('all');

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function namespaceOf(key: string): string {
  return key.slice(0, key.indexOf('/'));
}

/**
 * The agents of one namespace, sorted by key, with a capability index. Rebuilt when an
 * agent comes, goes or changes capabilities; otherwise an agent's entry is replaced in
 * place, which costs one slot per list it is in.
 */
class NamespaceIndex implements AgentIndex {
  all: AgentInfo[] = [];
  private readonly position = new Map<string, number>();
  private readonly byCapability = new Map<string, AgentInfo[]>();
  private readonly capabilityPosition = new Map<string, Map<string, number>>();
  private readonly byContext = new Map<string, Set<string>>();
  private readonly copied = new Set<string | typeof ALL>();
  private readonly infoOf: (key: string) => AgentInfo | undefined;

  constructor(infos: Iterable<AgentInfo>, infoOf: (key: string) => AgentInfo | undefined) {
    this.infoOf = infoOf;
    this.all = [...infos].sort((a, b) => compareKeys(a.key, b.key));
    this.all.forEach((agent, i) => {
      this.position.set(agent.key, i);
      for (const c of agent.capabilities) {
        let list = this.byCapability.get(c);
        let positions = this.capabilityPosition.get(c);
        if (list === undefined || positions === undefined) {
          this.byCapability.set(c, (list = []));
          this.capabilityPosition.set(c, (positions = new Map<string, number>()));
        }
        positions.set(agent.key, list.length);
        list.push(agent);
      }
      for (const context of agent.contextKeys) this.addContext(context, agent.key);
    });
  }

  get(key: string): AgentInfo | undefined {
    const i = this.position.get(key);
    return i === undefined ? undefined : this.all[i];
  }

  withCapability(capability: string): readonly AgentInfo[] {
    return this.byCapability.get(capability) ?? [];
  }

  withContextKey(contextKey: string): readonly AgentInfo[] {
    const keys = this.byContext.get(contextKey);
    if (keys === undefined) return [];
    const agents: AgentInfo[] = [];
    for (const key of keys) {
      const agent = this.infoOf(key);
      if (agent) agents.push(agent);
    }
    return agents.sort((a, b) => compareKeys(a.key, b.key));
  }

  /**
   * Starts a round of replacements. Lists are copied once per round before they change,
   * so a cycle (or a plugin's memo keyed on a list) never sees one change under it.
   */
  beginUpdate(): void {
    this.copied.clear();
  }

  /** Same key, same capabilities: swap the entry wherever it is listed. */
  replace(previous: AgentInfo, next: AgentInfo): void {
    const i = this.position.get(next.key);
    if (i !== undefined) {
      if (!this.copied.has(ALL)) {
        this.all = this.all.slice();
        this.copied.add(ALL);
      }
      this.all[i] = next;
    }
    for (const c of next.capabilities) {
      const j = this.capabilityPosition.get(c)?.get(next.key);
      let list = this.byCapability.get(c);
      if (j === undefined || list === undefined) continue;
      if (!this.copied.has(c)) {
        this.byCapability.set(c, (list = list.slice()));
        this.copied.add(c);
      }
      list[j] = next;
    }
    for (const context of previous.contextKeys) if (!next.contextKeys.has(context)) this.removeContext(context, next.key);
    for (const context of next.contextKeys) this.addContext(context, next.key);
  }

  private addContext(context: string, key: string): void {
    let keys = this.byContext.get(context);
    if (keys === undefined) this.byContext.set(context, (keys = new Set()));
    keys.add(key);
  }

  private removeContext(context: string, key: string): void {
    const keys = this.byContext.get(context);
    keys?.delete(key);
    if (keys?.size === 0) this.byContext.delete(context);
  }
}

function sameCapabilities(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const c of a) if (!b.has(c)) return false;
  return true;
}

/**
 * Agents and their loads, updated one event at a time. A cycle asks for a namespace's
 * index; only what changed since the last ask is recomputed.
 */
export class AgentCache {
  private readonly facts = new Map<string, AgentFacts>();
  private readonly loads = new Map<string, Load>();
  private readonly holdings = new Map<string, Holding>();
  private readonly assumptions = new Map<string, string>();
  private readonly infos = new Map<string, AgentInfo>();
  private readonly indexes = new Map<string, NamespaceIndex>();
  /** Per namespace, agents whose info must be recomputed before the next read. */
  private readonly dirty = new Map<string, Set<string>>();
  /** Namespaces whose index must be rebuilt: an agent came, went or changed capabilities. */
  private readonly rebuild = new Set<string>();

  /**
   * Sets or (with undefined) removes an agent. Returns whether routing could now answer
   * differently (it came, went, or changed more than its status counters).
   */
  setAgent(key: string, facts: AgentFacts | undefined): boolean {
    const previous = this.facts.get(key);
    if (facts === undefined) {
      if (previous === undefined) return false;
      this.facts.delete(key);
      this.infos.delete(key);
      this.dirty.get(namespaceOf(key))?.delete(key);
      this.prune(key);
      this.rebuild.add(namespaceOf(key));
      return true;
    }
    this.facts.set(key, facts);
    if (previous === undefined || !sameCapabilities(previous.capabilities, facts.capabilities)) {
      this.rebuild.add(facts.namespace);
      return true;
    }
    if (sameFacts(previous, facts)) return false;
    this.touch(key);
    return true;
  }

  /**
   * Sets or removes what a task contributes to its agent's load. Returns the agent whose
   * load went down, if any: a slot came free there.
   */
  setHolding(task: string, holding: Holding | undefined): string | undefined {
    const previous = this.holdings.get(task);
    if (previous === holding || (previous && holding && sameHolding(previous, holding))) return undefined;
    if (previous) this.apply(previous, -1);
    if (holding) {
      this.holdings.set(task, holding);
      this.apply(holding, 1);
    } else this.holdings.delete(task);
    if (previous) this.prune(previous.agent);
    const freed = previous?.active && !(holding?.active && holding.agent === previous.agent);
    return freed ? previous.agent : undefined;
  }

  /** Counts an assignment the informer does not show yet against `agent`. */
  assume(task: string, agent: string): void {
    this.forget(task);
    this.assumptions.set(task, agent);
    this.loadOf(agent).assumed++;
    this.touch(agent);
  }

  /** Drops an assumption: confirmed by the informer, or its write failed. */
  forget(task: string): void {
    const agent = this.assumptions.get(task);
    if (agent === undefined) return;
    this.assumptions.delete(task);
    const load = this.loads.get(agent);
    if (load) load.assumed--;
    this.touch(agent);
    this.prune(agent);
  }

  get(key: string): AgentInfo | undefined {
    this.refresh(namespaceOf(key));
    return this.infos.get(key);
  }

  /** The namespace's agents with their current loads. Valid until the cache next changes. */
  index(namespace: string): AgentIndex {
    this.refresh(namespace);
    return this.indexes.get(namespace) ?? EMPTY;
  }

  private refresh(namespace: string): void {
    if (this.rebuild.has(namespace)) {
      this.rebuild.delete(namespace);
      this.dirty.delete(namespace);
      const infos: AgentInfo[] = [];
      for (const [key, facts] of this.facts) {
        if (facts.namespace !== namespace) continue;
        const info = this.compose(key, facts);
        this.infos.set(key, info);
        infos.push(info);
      }
      if (infos.length) this.indexes.set(namespace, new NamespaceIndex(infos, (k) => this.infos.get(k)));
      else this.indexes.delete(namespace);
      return;
    }
    const index = this.indexes.get(namespace);
    const dirty = this.dirty.get(namespace);
    this.dirty.delete(namespace);
    if (index === undefined || dirty === undefined) return;
    index.beginUpdate();
    for (const key of dirty) {
      const facts = this.facts.get(key);
      const previous = this.infos.get(key);
      if (facts === undefined || previous === undefined) continue;
      const next = this.compose(key, facts);
      this.infos.set(key, next);
      index.replace(previous, next);
    }
  }

  private compose(key: string, facts: AgentFacts): AgentInfo {
    const load = this.loads.get(key);
    const contextKeys = load && load.contextKeys.size ? new Set(load.contextKeys.keys()) : NO_KEYS;
    return {
      ...facts,
      active: load ? load.active + load.assumed : 0,
      contextKeys,
      ...(load?.lastAssignedAt !== undefined ? { lastAssignedAt: load.lastAssignedAt } : {}),
    };
  }

  private loadOf(agent: string): Load {
    let load = this.loads.get(agent);
    if (load === undefined) this.loads.set(agent, (load = { held: 0, active: 0, assumed: 0, contextKeys: new Map() }));
    return load;
  }

  private apply(h: Holding, sign: 1 | -1): void {
    const load = this.loadOf(h.agent);
    load.held += sign;
    if (h.active) load.active += sign;
    // The last assignment stays the last even when its task goes: it still happened.
    if (sign > 0 && h.assignedAt !== undefined && (load.lastAssignedAt === undefined || h.assignedAt > load.lastAssignedAt))
      load.lastAssignedAt = h.assignedAt;
    if (h.contextKey !== undefined) {
      const n = (load.contextKeys.get(h.contextKey) ?? 0) + sign;
      if (n > 0) load.contextKeys.set(h.contextKey, n);
      else load.contextKeys.delete(h.contextKey);
    }
    this.touch(h.agent);
  }

  private touch(agent: string): void {
    const ns = namespaceOf(agent);
    let keys = this.dirty.get(ns);
    if (keys === undefined) this.dirty.set(ns, (keys = new Set()));
    keys.add(agent);
  }

  /** An agent that is gone and holds nothing leaves no trace. */
  private prune(agent: string): void {
    const load = this.loads.get(agent);
    if (load && !this.facts.has(agent) && load.held === 0 && load.assumed === 0) this.loads.delete(agent);
  }
}

function sameRecord<T>(
  a: Readonly<Record<string, T>> | undefined,
  b: Readonly<Record<string, T>> | undefined,
  same: (x: T, y: T) => boolean,
): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => k in b && same(a[k] as T, b[k] as T));
}

const sameCondition = (x: AgentCondition, y: AgentCondition): boolean =>
  x.status === y.status && x.reason === y.reason && x.lastTransitionTime === y.lastTransitionTime;

/** Capabilities aside (compared first), everything a plugin may read of an agent's own object. */
function sameFacts(a: AgentFacts, b: AgentFacts): boolean {
  return (
    a.ready === b.ready &&
    a.sleeping === b.sleeping &&
    a.leaving === b.leaving &&
    a.maxConcurrentTasks === b.maxConcurrentTasks &&
    a.pool === b.pool &&
    a.context?.tokens === b.context?.tokens &&
    a.context?.windowTokens === b.context?.windowTokens &&
    a.context?.compactAtPercent === b.context?.compactAtPercent &&
    sameRecord(a.labels, b.labels, (x, y) => x === y) &&
    sameRecord(a.conditions, b.conditions, sameCondition)
  );
}

function sameHolding(a: Holding, b: Holding): boolean {
  return a.agent === b.agent && a.active === b.active && a.assignedAt === b.assignedAt && a.contextKey === b.contextKey;
}

const EMPTY: AgentIndex = {
  all: [],
  get: () => undefined,
  withCapability: () => [],
  withContextKey: () => [],
};
