// The routing framework's vocabulary, modelled on kube-scheduler's: a cycle takes a
// read-only snapshot and returns assignments, and for each task it could not place, a
// status with per-reason counts. Everything here is data: no I/O, no clock.
import type { Status } from './status.ts';

/** An agent as routing sees it. `active` already counts assignments assumed in memory. */
export interface AgentInfo {
  /** namespace/name */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly capabilities: ReadonlySet<string>;
  readonly maxConcurrentTasks: number;
  /** Tasks assigned and not finished. */
  readonly active: number;
  /** Workload running and heartbeat fresh (Ready or Busy), able to take work now. */
  readonly ready: boolean;
  /** Asleep or going to sleep: not a candidate, but a task only it can serve wakes it. */
  readonly sleeping: boolean;
  /** Being deleted or draining: never a candidate. */
  readonly leaving: boolean;
  /** The Agent's status conditions by type, for plugins that keep state in one (CircuitOpen). */
  readonly conditions: Readonly<Record<string, AgentCondition>>;
  /** Autoscaling pool the agent belongs to, if any (label agents.orchestrator.dev/pool). */
  readonly pool?: string;
  /** The Agent's labels, for plugins that select agents (fallback tiers, team pools). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Context keys of the tasks this agent has run or runs (affinity.contextKey). */
  readonly contextKeys: ReadonlySet<string>;
  /** When the agent was last given a task (ms), for round-robin. */
  readonly lastAssignedAt?: number;
  /** The context window of an LLM agent (spec.context) and what its runner last reported in use. */
  readonly context?: AgentContext;
}

export interface AgentContext {
  readonly windowTokens: number;
  readonly compactAtPercent: number;
  /** Tokens in the window now (status.contextUsage); 0 before the first report. */
  readonly tokens: number;
}

export interface AgentCondition {
  readonly status: string;
  readonly reason?: string | undefined;
  readonly lastTransitionTime?: string | undefined;
}

/** A task waiting for an agent. */
export interface TaskInfo {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly required: readonly string[];
  readonly preferred: readonly string[];
  /** 0-1000, higher first. */
  readonly priority: number;
  /** When it started waiting (creation, or its last hand-back), ms. */
  readonly queuedAt: number;
  readonly affinity?: { readonly agent?: string | undefined; readonly contextKey?: string | undefined };
  /** The Task's labels and annotations, for plugins that hold or steer tasks by them. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** The Task's metadata.generation, for plugins whose annotations hold for one generation of its spec. */
  readonly generation?: number;
  /** Tokens the task is expected to add to its agent's context (spec.estimatedTokens). */
  readonly estimatedTokens?: number;
}

export interface Snapshot {
  readonly now: number;
  readonly tasks: readonly TaskInfo[];
  readonly agents: readonly AgentInfo[];
  /** Seed for plugins that choose at random (power of two choices), so cycles are reproducible. */
  readonly seed: number;
}

/** What plugins may read (and keep per task) during one cycle. */
export interface CycleState {
  readonly now: number;
  /** Tasks each agent holds in this cycle: starts at AgentInfo.active, grows with reserve. */
  load(agent: AgentInfo): number;
  /** Assignments made so far in this cycle, per agent key (round-robin reads it). */
  assignedThisCycle(agent: AgentInfo): number;
  /** A number in [0, 1) from the snapshot's seed. */
  random(): number;
  /**
   * Data a plugin keeps while one task is routed (kube-scheduler's CycleState.Read/Write):
   * cleared before the next task, so Score can leave what Normalize needs. Name the key
   * after the plugin.
   */
  read<T>(key: StateKey<T>): T | undefined;
  write<T>(key: StateKey<T>, value: T): void;
}

/** A typed key into the per-task cycle state; make one with stateKey(). */
export interface StateKey<T> {
  readonly name: string;
  /** Never set: carries T so read() returns what write() was given. */
  readonly type?: T;
}

export function stateKey<T>(name: string): StateKey<T> {
  return { name };
}

/** The namespace's agents, indexed for PreFilter. */
export interface AgentIndex {
  /** Every agent of the task's namespace, sorted by key. */
  readonly all: readonly AgentInfo[];
  /** Agents that have the capability. */
  withCapability(capability: string): readonly AgentInfo[];
  /** The agent with this key (namespace/name), if it is in the namespace. */
  get(key: string): AgentInfo | undefined;
  /** Agents that hold the conversation context (affinity.contextKey), sorted by key. */
  withContextKey(contextKey: string): readonly AgentInfo[];
}

export interface PreFilterResult {
  /**
   * Unschedulable ends the task's cycle; Skip skips this plugin's Filter and Score for the
   * task (it has nothing to judge: kube-scheduler's PreFilter and PreScore Skip). Default
   * Success.
   */
  readonly status?: Status;
  /**
   * Only these agents can pass; the others are judged by this plugin's Filter if it has
   * one. Give a list the index returned (or a part of one, in its order): handing it back
   * costs nothing, however large the namespace.
   */
  readonly agents?: readonly AgentInfo[];
  /**
   * Agents to look at first. In a large namespace a cycle stops filtering once it has
   * found enough feasible agents (see CycleOptions.feasibleAgentsToFind): an agent a
   * scorer would favour (the one holding the task's context) is listed here so it is
   * never left out of the sample.
   */
  readonly prefer?: ReadonlySet<string>;
}

/** What PostFilter may use: the agents and the filters, to try "what if" copies of an agent. */
export interface PostFilterHandle {
  readonly agents: readonly AgentInfo[];
  /** Runs every Filter on an agent (for example a woken copy of a sleeping one). */
  runFilters(task: TaskInfo, agent: AgentInfo): Status;
}

export interface PostFilterResult {
  /** Sleeping agents that could run the task once woken: waking one is the way forward. */
  readonly wake?: readonly string[];
}

export interface RoutingPlugin {
  /** Orders the queue; negative: a before b. Only one plugin's queueSort is used. */
  queueSort?(a: TaskInfo, b: TaskInfo, now: number): number;
  /** Once per task, before Filter: narrow the candidates (an index beats a scan), or rule the task out. */
  preFilter?(task: TaskInfo, agents: AgentIndex, state: CycleState): PreFilterResult;
  /** Can this agent take this task? Filters run in order; the first that says no names the reason. */
  filter?(task: TaskInfo, agent: AgentInfo, state: CycleState): Status;
  /** When no agent passed: what would make the task schedulable. `statuses` holds every agent's. */
  postFilter?(task: TaskInfo, statuses: ReadonlyMap<string, Status>, handle: PostFilterHandle, state: CycleState): PostFilterResult;
  /** 0-100, higher is better. */
  score?(task: TaskInfo, agent: AgentInfo, state: CycleState): number;
  /** Rescales this plugin's raw scores for one task to 0-100 (e.g. relative to the best). */
  normalize?(task: TaskInfo, scores: Map<string, number>, state: CycleState): void;
  /** Called when an agent is chosen; must be idempotent per (task, agent). */
  reserve?(task: TaskInfo, agent: AgentInfo, state: CycleState): void;
  unreserve?(task: TaskInfo, agent: AgentInfo, state: CycleState): void;
  /** The last word on a chosen pair: Success lets it go; Unschedulable or Wait keep the task queued. */
  permit?(task: TaskInfo, agent: AgentInfo, state: CycleState): Status;
}

export interface Assignment {
  readonly task: TaskInfo;
  readonly agent: AgentInfo;
}

/** Why a task is still waiting. */
export interface PendingStatus {
  readonly task: TaskInfo;
  /** Agents considered. */
  readonly total: number;
  /** Reason → number of agents it ruled out; the counts add up to `total`. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Reason → the plugin that gave it. */
  readonly plugins: Readonly<Record<string, string>>;
  /** e.g. "0/12 agents can run it: 7 lack capability gpu (required-capabilities), 5 at capacity (capacity)". */
  readonly message: string;
  /** Sleeping agents that could run it: waking one is the way forward. */
  readonly wake: readonly string[];
}

/** The routing points, and Lifecycle for any call of a lifecycle plugin (a tick or an event). */
export type ExtensionPoint = 'QueueSort' | 'PreFilter' | 'Filter' | 'PostFilter' | 'Score' | 'Reserve' | 'Permit' | 'Lifecycle';

/** A plugin that threw or ran past its budget: the host reports it on the policy. */
export interface PluginFailure {
  readonly plugin: string;
  readonly point: ExtensionPoint;
  readonly task?: string;
  readonly message: string;
}

export interface CycleResult {
  readonly assignments: readonly Assignment[];
  readonly pending: readonly PendingStatus[];
  readonly failures: readonly PluginFailure[];
}
