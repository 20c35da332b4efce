// Builders for routing tests: an AgentInfo or TaskInfo from the few fields a case is about.
import { createCycleLedger, type CycleLedger } from './cycle-state.ts';
import type { AgentInfo, TaskInfo } from './types.ts';

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
    circuit: 'closed',
    trialInFlight: false,
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
export function cycleState(seed = 1): CycleLedger {
  return createCycleLedger(NOW, seed);
}
