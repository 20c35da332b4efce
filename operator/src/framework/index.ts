// The framework's public API: what a plugin (in plugins/ or out of tree) may import.
export { definePlugin, type AdmissionRule, type Plugin, type PluginDefinition, type PluginInstance } from './plugin.ts';
export type { AgentReview, AgentViolation } from './agent-review.ts';
export type {
  AgentObject,
  AgentVerdict,
  CloudEvent,
  ConditionStatus,
  EventContext,
  Hook,
  Intent,
  LifecyclePlugin,
  NamespaceSnapshot,
  ObjectMeta,
  PolicyObject,
  Target,
  TaskObject,
  TaskOutcome,
} from './lifecycle.ts';
export { error, passes, skip, success, unresolvable, unschedulable, wait, type Code, type Status } from './status.ts';
export { utilisation } from './load.ts';
export { contextFits, contextRoom } from './context-room.ts';
/** Kubernetes quantities ("512Mi", "500m") as numbers, for plugins that compare usage with limits. */
export { parseQuantity } from '../core/quantity.ts';
/** An instant as Kubernetes writes it (RFC 3339, whole seconds), for messages that name one. */
export { rfc3339 } from '../core/timestamp.ts';
/** Token prices, calendar periods and spend, for plugins that account for what tasks cost. */
export { costOf, periodOf, spendIn, type Period, type Price, type Spend, type Spent } from '../core/accounting.ts';
export { stateKey } from './types.ts';
export type {
  AgentCondition,
  AgentContext,
  AgentIndex,
  AgentInfo,
  CycleState,
  PostFilterHandle,
  PostFilterResult,
  PreFilterResult,
  RoutingPlugin,
  StateKey,
  TaskInfo,
} from './types.ts';
