import type { Logger } from 'pino';
import { AGENT_LABEL } from '../../api/common.ts';
import { planGrants, type GrantTask } from '../../core/task-grants.ts';
import { isTerminal } from '../../core/task-lifecycle.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import { Controller, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../runtime/controller.ts';
import type { Manager } from '../../runtime/manager.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { Roles } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { agentRole } from '../../runtimes/kubernetes/agent-rbac.ts';
import { agentIdentity, grantsOf } from '../../runtimes/kubernetes/agent-role.ts';
import { MANAGED_BY } from '../../runtimes/kubernetes/pod-spec.ts';
import { agentStatus, conditionOf, taskSpec, taskStatus } from '../resources.ts';
import { TASKS_BY_AGENT } from '../indexes.ts';

/** Roles by each Task they name, so a Task's change reaches every agent that may read it. */
const ROLES_BY_TASK = 'task';

const grantTask = (t: KubeObject): GrantTask => {
  const s = taskStatus(t);
  return {
    name: t.metadata.name ?? '',
    agent: s.assignment?.agent,
    finished: isTerminal(s.phase, conditionOf(t, 'Finished')?.status === 'True'),
    dependsOn: taskSpec(t).dependsOn ?? [],
  };
};

interface GrantsOptions {
  agents: SharedInformer<KubeObject>;
  tasks: SharedInformer<KubeObject>;
  roles: SharedInformer<KubeObject>;
  writer: Pick<Writer, 'apply'>;
}

/**
 * Keeps each agent's Role naming the Tasks it may read and write (ADR 0016): the runner
 * learns its assignments there, and RBAC refuses it every other Task. Keyed by agent.
 */
export class GrantsReconciler implements Reconciler {
  private readonly o: GrantsOptions;

  constructor(options: GrantsOptions) {
    this.o = options;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const agent = this.o.agents.get(key);
    // A deleted Agent's Role goes with it (owner reference).
    if (!agent || agent.metadata.deletionTimestamp) return undefined;
    const namespace = agent.metadata.namespace ?? '';
    const name = agent.metadata.name ?? '';
    const role = this.o.roles.get(`${namespace}/${agentIdentity(name)}`);
    const lookup = (task: string): GrantTask | undefined => {
      const t = this.o.tasks.get(`${namespace}/${task}`);
      return t ? grantTask(t) : undefined;
    };
    const assigned = this.o.tasks.byIndex(TASKS_BY_AGENT, key).map(grantTask);
    const grants = planGrants(name, role ? grantsOf(role) : undefined, assigned, lookup, agentStatus(agent).workload !== undefined);
    if (!grants) return undefined;
    await this.o.writer.apply(Roles, agentRole({ namespace, name, uid: agent.metadata.uid ?? '' }, grants), ctx.signal);
    ctx.log.debug({ read: grants.read.length, write: grants.write.length }, 'agent Role written');
    return undefined;
  }
}

/** Registers the grants controller on the caches the task controller shares. */
export function registerGrants(
  manager: Manager,
  o: { tasks: SharedInformer<KubeObject>; agents: SharedInformer<KubeObject>; workers: number; clock: Clock; logger: Logger },
): void {
  const managedBy = Object.entries(MANAGED_BY)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const roles = manager.informer<KubeObject>(Roles, {
    labelSelector: `${managedBy},${AGENT_LABEL}`,
    indexers: { [ROLES_BY_TASK]: (r) => grantsOf(r).read.map((t) => `${r.metadata.namespace ?? ''}/${t}`) },
  });
  const controller = new Controller({
    name: 'grants',
    workers: o.workers,
    logger: o.logger,
    clock: o.clock,
    metrics: manager.metrics,
    reconciler: new GrantsReconciler({ agents: o.agents, tasks: o.tasks, roles, writer: manager.writer }),
  });
  const agentOfRole = (r: KubeObject): string[] => {
    const agent = r.metadata.labels?.[AGENT_LABEL];
    return agent ? [`${r.metadata.namespace ?? ''}/${agent}`] : [];
  };
  // The agent a Task is assigned to, and every agent whose Role still names it (one it was
  // taken from, or a dependent's).
  controller.watch(o.tasks, (t) => {
    const agent = taskStatus(t).assignment?.agent;
    const keys = new Set(roles.byIndex(ROLES_BY_TASK, keyOf(t)).flatMap(agentOfRole));
    if (agent) keys.add(`${t.metadata.namespace ?? ''}/${agent}`);
    return [...keys];
  });
  // A new Agent, and one whose workload appears (its Role must be there by then).
  controller.watch(o.agents, undefined, {
    updates: (old, obj) => (agentStatus(old).workload === undefined) !== (agentStatus(obj).workload === undefined),
  });
  controller.watch(roles, agentOfRole);
  manager.add(controller);
}
