// Builders for plugin and routing tests: an AgentInfo or TaskInfo from the few fields a
// case is about, a cycle state, and a plugin's routing part. Part of the public API.
import { createCycleLedger, type CycleLedger } from './cycle-state.ts';

/** A seeded stream of numbers in [0, 1), for simulations that must replay. */
export { seededRandom } from './cycle-state.ts';
/** The agent reviews as the operator builds them from --plugin-settings, for a plugin's tests. */
export { agentReviewsOf, reviewAgent } from './agent-review.ts';
import type { Plugin } from './plugin.ts';
import type { AgentIndex, AgentInfo, RoutingPlugin, TaskInfo } from './types.ts';

export const NOW = 1_700_000_000_000;

export type AgentFields = Partial<Omit<AgentInfo, 'key' | 'name' | 'capabilities' | 'contextKeys'>> & {
  readonly capabilities?: readonly string[];
  readonly contextKeys?: readonly string[];
};

export function agent(name: string, fields: AgentFields = {}): AgentInfo {
  const { capabilities = [], contextKeys = [], namespace = 'ns', ...rest } = fields;
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    maxConcurrentTasks: 1,
    active: 0,
    ready: true,
    sleeping: false,
    leaving: false,
    conditions: {},
    ...rest,
    capabilities: new Set(capabilities),
    contextKeys: new Set(contextKeys),
  };
}

export type TaskFields = Partial<Omit<TaskInfo, 'key' | 'name'>>;

export function task(name: string, fields: TaskFields = {}): TaskInfo {
  const { namespace = 'ns', ...rest } = fields;
  return { key: `${namespace}/${name}`, namespace, name, required: [], preferred: [], priority: 100, queuedAt: NOW, ...rest };
}

/** A fresh cycle state at NOW. */
/** An index over `agents` (sorted by key, as the cycle's are), for testing PreFilters. */
export function agentIndex(agents: readonly AgentInfo[]): AgentIndex {
  const all = [...agents].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    all,
    get: (key) => all.find((a) => a.key === key),
    withCapability: (c) => all.filter((a) => a.capabilities.has(c)),
    withContextKey: (k) => all.filter((a) => a.contextKeys.has(k)),
  };
}

export function cycleState(seed = 1): CycleLedger {
  return createCycleLedger(NOW, seed);
}

/** A plugin's routing part built from `config`; throws if it has none. */
export function routingOf(plugin: Plugin, config: unknown = {}): RoutingPlugin {
  const routing = plugin.create(config).routing;
  if (routing === undefined) throw new Error(`plugin ${plugin.name} has no routing part`);
  return routing;
}
