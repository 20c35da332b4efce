// The framework's public API: what a plugin (in plugins/ or out of tree) may import.
export { definePlugin, type Plugin, type PluginDefinition, type PluginInstance } from './plugin.ts';
export { error, passes, skip, success, unresolvable, unschedulable, wait, type Code, type Status } from './status.ts';
export { utilisation } from './load.ts';
export { stateKey } from './types.ts';
export type {
  AgentIndex,
  AgentInfo,
  CircuitState,
  CycleState,
  PostFilterHandle,
  PostFilterResult,
  PreFilterResult,
  RoutingPlugin,
  StateKey,
  TaskInfo,
} from './types.ts';
