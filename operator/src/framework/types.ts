// The routing framework's vocabulary, modelled on kube-scheduler's: a cycle takes a
// read-only snapshot and returns assignments, and for each task it could not place, a
// status with per-reason counts. Everything here is data: no I/O, no clock.

export type CircuitState = 'closed' | 'open' | 'half-open';

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
  readonly circuit: CircuitState;
  /** With a half-open circuit: a trial task is already out, so no more until it ends. */
  readonly trialInFlight: boolean;
  /** Autoscaling pool the agent belongs to, if any (label agents.orchestrator.dev/pool). */
  readonly pool?: string;
  /** Context keys of the tasks this agent has run or runs (affinity.contextKey). */
  readonly contextKeys: ReadonlySet<string>;
  /** When the agent was last given a task (ms), for round-robin. */
  readonly lastAssignedAt?: number;
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
  readonly affinity?: { readonly agent?: string; readonly contextKey?: string };
}

export interface Snapshot {
  readonly now: number;
  readonly tasks: readonly TaskInfo[];
  readonly agents: readonly AgentInfo[];
  /** Seed for plugins that choose at random (power of two choices), so cycles are reproducible. */
  readonly seed: number;
}

/** Why an agent cannot take a task, in words that fit "N agents: <reason>". */
export type FilterResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** What plugins may read and change during one cycle. */
export interface CycleState {
  readonly now: number;
  /** Tasks each agent holds in this cycle: starts at AgentInfo.active, grows with reserve. */
  load(agent: AgentInfo): number;
  /** Assignments made so far in this cycle, per agent key (round-robin, fair share read it). */
  assignedThisCycle(agent: AgentInfo): number;
  /** Assignments made so far in this cycle to tasks of a namespace (fair share). */
  assignedToNamespace(namespace: string): number;
  /** A number in [0, 1) from the snapshot's seed. */
  random(): number;
}

export interface RoutingPlugin {
  readonly name: string;
  /** Orders the queue; negative: a before b. Only one plugin's queueSort is used. */
  queueSort?(a: TaskInfo, b: TaskInfo, now: number): number;
  filter?(task: TaskInfo, agent: AgentInfo, state: CycleState): FilterResult;
  /** 0-100, higher is better. */
  score?(task: TaskInfo, agent: AgentInfo, state: CycleState): number;
  /** Rescales this plugin's raw scores for one task to 0-100 (e.g. relative to the best). */
  normalize?(task: TaskInfo, scores: Map<string, number>): void;
  /** Called when an agent is chosen; must be idempotent per (task, agent). */
  reserve?(task: TaskInfo, agent: AgentInfo, state: CycleState): void;
  unreserve?(task: TaskInfo, agent: AgentInfo, state: CycleState): void;
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
  /** e.g. "0/12 agents can run it: 7 lack capability gpu, 5 at capacity". */
  readonly message: string;
  /** Sleeping agents that could run it: waking one is the way forward. */
  readonly wake: readonly string[];
}

export interface CycleResult {
  readonly assignments: readonly Assignment[];
  readonly pending: readonly PendingStatus[];
}
