import { definePlugin, type Hook, type LifecyclePlugin, type RoutingPlugin } from '../../operator/src/framework/index.ts';
import { hooksConfig, type HooksConfig } from './config.ts';
import { agentEvent, agentLastTransition, hookFor, isRecent, subscribes, taskEvent, taskLastTransition } from './events.ts';
import { gateIntents, permitGate, verdictAdmission } from './gate.ts';

export { ANNOTATIONS, answerOf, permitGate } from './gate.ts';
export { EVENT_NAMES, hooksConfig, type HooksConfig } from './config.ts';

function lifecycle(config: HooksConfig): LifecyclePlugin {
  const plugin: { -readonly [K in keyof LifecyclePlugin]: LifecyclePlugin[K] } = {};
  const wants = (kind: 'task' | 'agent'): boolean => config.endpoints.some((e) => e.events.some((x) => x.startsWith(`${kind}.`)));
  if (wants('task')) {
    plugin.onPhase = (task, from, to, context): Hook[] => {
      // First seen (the operator's first list after a start): only a recent phase is sent again.
      if (from === undefined && !isRecent(taskLastTransition(task, to), context.now)) return [];
      const targets = config.endpoints.filter((e) => subscribes(e, 'task', to));
      if (targets.length === 0) return [];
      const event = taskEvent(task, to, from, context.now);
      return targets.map((e) => hookFor(e, event));
    };
  }
  if (wants('agent')) {
    plugin.onAgentPhase = (agent, from, to, context): Hook[] => {
      if (from === undefined && !isRecent(agentLastTransition(agent), context.now)) return [];
      const targets = config.endpoints.filter((e) => subscribes(e, 'agent', to));
      if (targets.length === 0) return [];
      const event = agentEvent(agent, to, from, context.now);
      return targets.map((e) => hookFor(e, event));
    };
  }
  if (config.preAssignment) plugin.onTick = (snapshot) => gateIntents(snapshot, config);
  return plugin;
}

function routing(config: HooksConfig): RoutingPlugin {
  const gate = config.preAssignment?.endpoint;
  return gate === undefined ? {} : { permit: (task) => permitGate(task, gate) };
}

/**
 * Webhooks, the seed product's IntegrationPlugin: CloudEvents for the task and agent
 * phases each endpoint names (lifecycle onPhase / onAgentPhase), and an optional
 * pre-assignment gate (lifecycle onTick asks, Permit waits for the answer). The host's
 * webhook client delivers, signs, retries and writes the gate's answers. See README.md.
 */
export const hooks = definePlugin({
  name: 'hooks',
  config: hooksConfig,
  routing,
  lifecycle,
  admission: [verdictAdmission],
});
