import type { Logger } from 'pino';
import { agentKind, policyKind, taskKind } from '../../api/kinds.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { resourceOfKind } from '../../runtime/rest/resource.ts';
import { TASKS_BY_NAMESPACE, tasksByNamespace } from '../indexes.ts';
import type { Plugins } from './host.ts';
import { LifecycleHost, type PluginHook } from './lifecycle-host.ts';
import { WebhookClient } from './webhook-client.ts';
import { taskStatus } from '../resources.ts';

export interface PluginHostOptions {
  logger: Logger;
  clock: Clock;
  plugins: Plugins;
  deliver?: (namespace: string, hooks: readonly PluginHook[]) => void;
}

const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
const historyLength = (o: KubeObject): number => taskStatus(o).history?.length ?? 0;

function sameStrings(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a?.[k] === b?.[k]);
}

/**
 * The client that delivers the webhooks lifecycle plugins ask for (registerPluginHost's
 * `deliver`): it runs with the leader's controllers and stops with them.
 */
export function registerWebhookClient(manager: Manager, o: { logger: Logger; clock: Clock; plugins: Plugins }): WebhookClient {
  const client = new WebhookClient({
    client: manager.client,
    clock: o.clock,
    logger: o.logger,
    reports: o.plugins.reports,
    metrics: manager.metrics.registry,
  });
  manager.addRunnable({ name: 'webhooks', run: (signal) => client.run(signal) });
  return client;
}

/** Wires the lifecycle plugin host: one tick per namespace on every change of its agents, tasks or policy. */
export function registerPluginHost(manager: Manager, o: PluginHostOptions): LifecycleHost {
  const agents = manager.informer<KubeObject>(resourceOfKind(agentKind));
  const tasks = manager.informer<KubeObject>(resourceOfKind(taskKind), { indexers: { [TASKS_BY_NAMESPACE]: tasksByNamespace } });
  const policies = manager.informer<KubeObject>(resourceOfKind(policyKind));
  const host = new LifecycleHost({
    agents,
    tasks,
    policies,
    namespacePolicies: o.plugins.namespacePolicies(policies, o.logger),
    plugins: o.plugins,
    client: manager.client,
    writer: manager.writer,
    events: manager.events,
    metrics: manager.metrics.registry,
    clock: o.clock,
    logger: o.logger,
    ...(o.deliver ? { deliver: o.deliver } : {}),
  });
  const controller = new Controller({
    name: 'plugins',
    workers: 2,
    logger: o.logger,
    clock: o.clock,
    metrics: manager.metrics,
    reconciler: host,
  });
  const ns = (obj: KubeObject): string[] => [obj.metadata.namespace ?? ''];
  const now = (): number => o.clock.now();
  // Phase changes and ended attempts are queued with the namespace's key before it is enqueued.
  tasks.addHandler({
    onAdd: (t) => {
      const phase = phaseOf(t);
      if (phase !== undefined)
        host.record(t.metadata.namespace ?? '', { kind: 'task-phase', key: keyOf(t), from: undefined, to: phase, at: now(), object: t });
    },
    onUpdate: (old, t) => {
      const namespace = t.metadata.namespace ?? '';
      const [from, to] = [phaseOf(old), phaseOf(t)];
      if (to !== undefined && from !== to) host.record(namespace, { kind: 'task-phase', key: keyOf(t), from, to, at: now(), object: t });
      for (let i = historyLength(old); i < historyLength(t); i++)
        host.record(namespace, { kind: 'outcome', key: keyOf(t), index: i, at: now() });
    },
  });
  agents.addHandler({
    onAdd: (a) => {
      const phase = phaseOf(a);
      if (phase !== undefined)
        host.record(a.metadata.namespace ?? '', { kind: 'agent-phase', key: keyOf(a), from: undefined, to: phase, at: now(), object: a });
    },
    onUpdate: (old, a) => {
      const [from, to] = [phaseOf(old), phaseOf(a)];
      if (to !== undefined && from !== to)
        host.record(a.metadata.namespace ?? '', { kind: 'agent-phase', key: keyOf(a), from, to, at: now(), object: a });
    },
  });
  controller.watch(agents, ns);
  // A new generation or changed annotations matter to plugins that keep per-generation
  // answers in annotations (a pre-assignment gate asked again).
  controller.watch(tasks, ns, {
    updates: (old, t) =>
      phaseOf(old) !== phaseOf(t) ||
      historyLength(old) !== historyLength(t) ||
      old.metadata.generation !== t.metadata.generation ||
      !sameStrings(old.metadata.annotations, t.metadata.annotations),
  });
  controller.watch(policies, ns);
  manager.add(controller);
  return host;
}
