import type { Logger } from 'pino';
import { AGENT_LABEL } from '../../api/common.ts';
import { agentKind, taskKind } from '../../api/kinds.ts';
import type { Config } from '../../config/config.ts';
import type { AgentReviews } from '../../framework/agent-review.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { Leases, Pods, resourceOfKind } from '../../runtime/rest/resource.ts';
import { PodRuntime } from '../../runtimes/kubernetes/pod-runtime.ts';
import { MANAGED_BY } from '../../runtimes/kubernetes/pod-spec.ts';
import { AGENTS_BY_CAPABILITY, TASKS_BY_AGENT, agentsByCapability, tasksByAgent } from '../indexes.ts';
import { specOrMetadataChanged } from '../predicates.ts';
import { AgentReconciler } from './agent-reconciler.ts';
import { DockerAgents } from './docker-agents.ts';
import { agentMetrics } from './metrics.ts';
import { sweepDockerOrphans } from './orphans.ts';

export interface AgentControllerOptions {
  config: Config;
  logger: Logger;
  clock: Clock;
  /** Plugins' reviews of an Agent before its workload starts (the security plugin); none when absent. */
  reviews?: AgentReviews | undefined;
}

const ORPHAN_SWEEP_MS = 60_000;

/** Wires the agent controller into the manager: its caches, its reconciler, its sweep. */
export function registerAgentController(manager: Manager, o: AgentControllerOptions): Controller {
  const agents = manager.informer<KubeObject>(resourceOfKind(agentKind), { indexers: { [AGENTS_BY_CAPABILITY]: agentsByCapability } });
  const tasks = manager.informer<KubeObject>(resourceOfKind(taskKind), { indexers: { [TASKS_BY_AGENT]: tasksByAgent } });
  // Runners label their heartbeat Lease with their Agent; other Leases are not cached.
  const leases = manager.informer<KubeObject>(Leases, { labelSelector: AGENT_LABEL });
  const managedBy = Object.entries(MANAGED_BY)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const pods = manager.informer<KubeObject>(Pods, { labelSelector: `${managedBy},${AGENT_LABEL}` });
  const docker = new DockerAgents(o.config, manager.client, manager.writer, o.clock);
  const reconciler = new AgentReconciler({
    config: o.config,
    client: manager.client,
    writer: manager.writer,
    events: manager.events,
    agents,
    leases,
    tasks,
    pods: new PodRuntime({ client: manager.client, writer: manager.writer, pods, clock: o.clock }),
    docker,
    metrics: agentMetrics(manager.metrics.registry, agents, leases, () => o.clock.now()),
    clock: o.clock,
    logger: o.logger,
    reviews: o.reviews ?? { plugins: [] },
  });
  const controller = new Controller({
    name: 'agent',
    reconciler,
    workers: o.config.agentWorkers,
    logger: o.logger,
    clock: o.clock,
    metrics: manager.metrics,
  });
  const byLabel = (obj: KubeObject): string[] => {
    const agent = obj.metadata.labels?.[AGENT_LABEL];
    return agent ? [`${obj.metadata.namespace ?? ''}/${agent}`] : [];
  };
  controller.watch(agents, undefined, { updates: specOrMetadataChanged });
  controller.watch(tasks, byLabel);
  controller.watch(leases, byLabel);
  controller.watch(pods, byLabel);
  manager.add(controller);
  manager.addRunnable({
    name: 'docker-orphan-sweep',
    run: (signal) => sweepDockerOrphans(docker, agents, o.clock, ORPHAN_SWEEP_MS, o.logger, signal),
  });
  return controller;
}
