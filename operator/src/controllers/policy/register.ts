import type { Logger } from 'pino';
import { POLICY_LABEL, TEMPLATE_HASH_ANNOTATION } from '../../api/common.ts';
import { agentKind, policyKind, taskKind } from '../../api/kinds.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Plugins } from '../plugins/host.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { resourceOfKind } from '../../runtime/rest/resource.ts';
import { TASKS_BY_AGENT, TASKS_BY_NAMESPACE, tasksByAgent, tasksByNamespace } from '../indexes.ts';
import { policyMetrics } from './metrics.ts';
import { PolicyReconciler } from './policy-reconciler.ts';
import { AGENTS_BY_POLICY, agentsByPolicy } from './pool-snapshot.ts';
import { agentSpec, taskStatus } from '../resources.ts';

export interface PolicyControllerOptions {
  logger: Logger;
  clock: Clock;
  plugins: Plugins;
}

/** A burst of task changes becomes one look at the namespace's pools. */
const TASK_BATCH_MS = 500;

/** Wires the policy controller (autoscaling pools, plugin configuration) into the manager. */
export function registerPolicyController(manager: Manager, o: PolicyControllerOptions): void {
  const policies = manager.informer<KubeObject>(resourceOfKind(policyKind));
  const agents = manager.informer<KubeObject>(resourceOfKind(agentKind), { indexers: { [AGENTS_BY_POLICY]: agentsByPolicy } });
  const tasks = manager.informer<KubeObject>(resourceOfKind(taskKind), {
    indexers: { [TASKS_BY_AGENT]: tasksByAgent, [TASKS_BY_NAMESPACE]: tasksByNamespace },
  });
  const controller = new Controller({
    name: 'policy',
    workers: 2,
    logger: o.logger,
    clock: o.clock,
    metrics: manager.metrics,
    reconciler: new PolicyReconciler({
      policies,
      agents,
      tasks,
      client: manager.client,
      writer: manager.writer,
      events: manager.events,
      metrics: policyMetrics(manager.metrics.registry),
      clock: o.clock,
      logger: o.logger,
      plugins: o.plugins,
    }),
  });
  // A policy change is seen by every policy of the namespace: which one governs may change.
  const policiesIn = (namespace: string | undefined): string[] =>
    policies
      .list()
      .filter((p) => p.metadata.namespace === namespace)
      .map(keyOf);
  controller.watch(policies, (p) => policiesIn(p.metadata.namespace));
  // A lifecycle plugin's bounds for a pool changed (a schedule's window opened or closed): look at once.
  o.plugins.pools.onChange((namespace) => {
    for (const key of policiesIn(namespace)) controller.queue.add(key, 'high');
  });
  // A plugin started failing: the policy in force says so (PluginDegraded).
  o.plugins.health.onDegraded((namespace) => {
    for (const key of policiesIn(namespace)) controller.queue.add(key, 'high');
  });
  // A plugin's work started or stopped failing (webhook deliveries): status.plugins says so.
  o.plugins.reports.onChange((namespace) => {
    for (const key of policiesIn(namespace)) controller.queue.addAfter(key, TASK_BATCH_MS);
  });
  controller.watch(
    agents,
    (a) => {
      const policy = a.metadata.labels?.[POLICY_LABEL];
      return policy ? [`${a.metadata.namespace ?? ''}/${policy}`] : [];
    },
    { updates: poolMemberChanged },
  );
  const enqueue = (t: KubeObject): void => {
    for (const key of policiesIn(t.metadata.namespace)) controller.queue.addAfter(key, TASK_BATCH_MS);
  };
  tasks.addHandler({
    onAdd: (t, initial) => {
      if (!initial) enqueue(t);
    },
    onUpdate: (old, t) => {
      if (taskStatus(old).phase !== taskStatus(t).phase) enqueue(t);
    },
    onDelete: enqueue,
  });
  manager.add(controller);
}

/** An agent change the pool planner can see: phase, readiness, desired state, template, deletion. */
function poolMemberChanged(old: KubeObject, obj: KubeObject): boolean {
  const view = (a: KubeObject): string => {
    const status = (a.status ?? {}) as { phase?: string; observedGeneration?: number; conditions?: { type: string; status: string }[] };
    return JSON.stringify([
      status.phase,
      status.observedGeneration,
      status.conditions?.find((c) => c.type === 'Ready')?.status,
      agentSpec(a).desiredState,
      a.metadata.generation,
      a.metadata.deletionTimestamp,
      a.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION],
    ]);
  };
  return view(old) !== view(obj);
}
