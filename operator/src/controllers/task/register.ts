import type { Logger } from 'pino';
import { agentKind, policyKind, taskKind } from '../../api/kinds.ts';
import type { Config } from '../../config/config.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Plugins } from '../plugins/host.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { Leases, resourceOfKind } from '../../runtime/rest/resource.ts';
import { AGENT_LABEL } from '../../api/common.ts';
import { taskForCache } from '../cache-transforms.ts';
import {
  AGENTS_BY_CAPABILITY,
  TASKS_BY_AGENT,
  TASKS_BY_NAMESPACE,
  agentsByCapability,
  tasksByAgent,
  tasksByNamespace,
} from '../indexes.ts';
import { routerQueueGauge, taskMetrics } from './metrics.ts';
import { Router } from './router.ts';
import { availabilityChanged, holderChanged } from './snapshot.ts';
import { taskSpec, taskStatus } from '../resources.ts';
import { TASKS_BY_DEPENDENCY, TaskReconciler } from './task-reconciler.ts';
import { registerGrants } from './grants.ts';

export interface TaskControllerOptions {
  config: Config;
  logger: Logger;
  clock: Clock;
  plugins: Plugins;
}

/** Wires task routing and the task lifecycle into the manager. */
export function registerTaskController(manager: Manager, o: TaskControllerOptions): void {
  const tasks = manager.informer<KubeObject>(resourceOfKind(taskKind), {
    transform: taskForCache,
    indexers: {
      [TASKS_BY_AGENT]: tasksByAgent,
      [TASKS_BY_NAMESPACE]: tasksByNamespace,
      [TASKS_BY_DEPENDENCY]: (t) => (taskSpec(t).dependsOn ?? []).map((d) => `${t.metadata.namespace ?? ''}/${d}`),
    },
  });
  const agents = manager.informer<KubeObject>(resourceOfKind(agentKind), { indexers: { [AGENTS_BY_CAPABILITY]: agentsByCapability } });
  // Runners label their heartbeat Lease with their Agent (the agent controller shares this cache).
  const leases = manager.informer<KubeObject>(Leases, { labelSelector: AGENT_LABEL });
  const policies = o.plugins.namespacePolicies(manager.informer<KubeObject>(resourceOfKind(policyKind)), o.logger);
  const metrics = taskMetrics(manager.metrics.registry, tasks);
  const router = new Router({
    client: manager.client,
    reportingClient: manager.reportingClient,
    tasks,
    agents,
    policies,
    plugins: o.plugins,
    events: manager.events,
    metrics,
    clock: o.clock,
    logger: o.logger,
    feasibleAgentsToFind: o.config.feasibleAgentsToFind,
  });
  routerQueueGauge(manager.metrics.registry, router);

  const lifecycle = new Controller({
    name: 'task',
    workers: o.config.taskWorkers,
    logger: o.logger,
    clock: o.clock,
    metrics: manager.metrics,
    reconciler: new TaskReconciler({
      tasks,
      agents,
      leases,
      client: manager.client,
      policies,
      writer: manager.writer,
      events: manager.events,
      metrics,
      clock: o.clock,
      logger: o.logger,
      reassignDelayMs: o.config.taskReassignDelaySeconds * 1000,
      timeoutGraceMs: o.config.taskTimeoutGraceSeconds * 1000,
      onRoutable: () => {
        router.markDirty();
      },
    }),
  });
  // A task's change matters to itself and to the tasks that depend on it.
  lifecycle.watch(tasks, (t) => [keyOf(t), ...tasks.byIndex(TASKS_BY_DEPENDENCY, keyOf(t)).map(keyOf)]);
  // An agent that loses its heartbeat, sleeps or goes: its unfinished tasks are looked at.
  lifecycle.watch(
    agents,
    (a) =>
      tasks
        .byIndex(TASKS_BY_AGENT, keyOf(a))
        .filter((t) => ['Assigned', 'Running'].includes(String(taskStatus(t).phase)))
        .map(keyOf),
    { updates: availabilityChanged },
  );
  // A new runner process took an agent's Lease: the attempts its predecessor left Running are looked at.
  lifecycle.watch(
    leases,
    (lease) => {
      const agent = lease.metadata.labels?.[AGENT_LABEL];
      if (!agent) return [];
      return tasks
        .byIndex(TASKS_BY_AGENT, `${lease.metadata.namespace ?? ''}/${agent}`)
        .filter((t) => taskStatus(t).phase === 'Running')
        .map(keyOf);
    },
    { updates: holderChanged },
  );
  manager.add(lifecycle);
  registerGrants(manager, { tasks, agents, workers: o.config.taskWorkers, clock: o.clock, logger: o.logger });
  manager.addRunnable({ name: 'router', run: (signal) => router.run(signal) });
}
