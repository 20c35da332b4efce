import type { Logger } from 'pino';
import { agentKind, policyKind, taskKind } from '../../api/kinds.ts';
import type { Hook } from '../../framework/lifecycle.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { resourceOfKind } from '../../runtime/rest/resource.ts';
import { TASKS_BY_NAMESPACE, tasksByNamespace } from '../indexes.ts';
import { Policies } from '../task/policies.ts';
import type { Plugins } from './host.ts';
import { LifecycleHost } from './lifecycle-host.ts';

export interface PluginHostOptions {
  logger: Logger;
  clock: Clock;
  plugins: Plugins;
  deliver?: (namespace: string, hooks: readonly Hook[]) => void;
}

const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
const historyLength = (o: KubeObject): number => (o.status as { history?: unknown[] } | undefined)?.history?.length ?? 0;

/** Wires the lifecycle plugin host: one tick per namespace on every change of its agents, tasks or policy. */
export function registerPluginHost(manager: Manager, o: PluginHostOptions): LifecycleHost {
  const agents = manager.informer<KubeObject>(resourceOfKind(agentKind));
  const tasks = manager.informer<KubeObject>(resourceOfKind(taskKind), { indexers: { [TASKS_BY_NAMESPACE]: tasksByNamespace } });
  const policies = manager.informer<KubeObject>(resourceOfKind(policyKind));
  const host = new LifecycleHost({
    agents,
    tasks,
    policies,
    namespacePolicies: new Policies(policies, o.plugins.registry, o.logger),
    plugins: o.plugins,
    client: manager.client,
    writer: manager.writer,
    events: manager.events,
    metrics: manager.metrics.registry,
    clock: o.clock,
    logger: o.logger,
    ...(o.deliver ? { deliver: o.deliver } : {}),
  });
  const controller = new Controller({ name: 'plugins', workers: 2, logger: o.logger, clock: o.clock, metrics: manager.metrics, reconciler: host });
  const ns = (obj: KubeObject): string[] => [obj.metadata.namespace ?? ''];
  const now = (): number => o.clock.now();
  // Phase changes and ended attempts are queued with the namespace's key before it is enqueued.
  tasks.addHandler({
    onAdd: (t) => {
      const phase = phaseOf(t);
      if (phase !== undefined) host.record(t.metadata.namespace ?? '', { kind: 'task-phase', key: keyOf(t), from: undefined, to: phase, at: now() });
    },
    onUpdate: (old, t) => {
      const namespace = t.metadata.namespace ?? '';
      const [from, to] = [phaseOf(old), phaseOf(t)];
      if (to !== undefined && from !== to) host.record(namespace, { kind: 'task-phase', key: keyOf(t), from, to, at: now() });
      for (let i = historyLength(old); i < historyLength(t); i++) host.record(namespace, { kind: 'outcome', key: keyOf(t), index: i, at: now() });
    },
  });
  agents.addHandler({
    onAdd: (a) => {
      const phase = phaseOf(a);
      if (phase !== undefined) host.record(a.metadata.namespace ?? '', { kind: 'agent-phase', key: keyOf(a), from: undefined, to: phase, at: now() });
    },
    onUpdate: (old, a) => {
      const [from, to] = [phaseOf(old), phaseOf(a)];
      if (to !== undefined && from !== to) host.record(a.metadata.namespace ?? '', { kind: 'agent-phase', key: keyOf(a), from, to, at: now() });
    },
  });
  controller.watch(agents, ns);
  controller.watch(tasks, ns, { updates: (old, t) => phaseOf(old) !== phaseOf(t) || historyLength(old) !== historyLength(t) });
  controller.watch(policies, ns);
  manager.add(controller);
  return host;
}
