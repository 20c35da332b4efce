import type { Logger } from 'pino';
import { POOL_LABEL } from '../../api/common.ts';
import { policyKind } from '../../api/kinds.ts';
import { policy as policySchema, type PolicySpec, type PolicyStatus } from '../../api/policy.ts';
import { poolSummary } from '../../core/pool-summary.ts';
import { awakeBounds, decideScale, type Recommendation, type ScaleLimit } from '../../core/autoscaler.ts';
import { planPool } from '../../core/pool-plan.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { resourceOfKind } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { rfc3339, setCondition, type ConditionUpdate } from '../conditions.ts';
import { TASKS_BY_AGENT, TASKS_BY_NAMESPACE } from '../indexes.ts';
import type { Plugins } from '../plugins/host.ts';
import { specHash } from '../spec-hash.ts';
import { governingPolicyOf } from '../task/policies.ts';
import { Expectations } from './expectations.ts';
import type { PolicyMetrics } from './metrics.ts';
import { carryOut, type CarriedOut } from './pool-actions.ts';
import { AGENTS_BY_POLICY, pendingFor, poolMember, readySince } from './pool-snapshot.ts';
import { policyStatus } from '../resources.ts';

const Policies = resourceOfKind(policyKind);
type Pool = NonNullable<PolicySpec['autoscaling']>['pools'][number];
type PoolStatus = NonNullable<PolicyStatus['pools']>[number];

/** How often a pool is looked at with nothing changing, so windows and idle timers move on. */
const RESYNC_MS = 15_000;
/** How soon to look again while the cache has not shown the pool's own writes. */
const EXPECTATION_POLL_MS = 1_000;
/**
 * After the operator starts, pools wait this long at most for the lifecycle plugins' first
 * look at their namespace, so bounds that hold (a night window) are not missed meanwhile.
 */
const BOUNDS_GRACE_MS = 10_000;

export interface PolicyReconcilerDeps {
  policies: SharedInformer<KubeObject>;
  agents: SharedInformer<KubeObject>;
  tasks: SharedInformer<KubeObject>;
  client: RestClient;
  writer: Writer;
  events: EventRecorder;
  metrics: PolicyMetrics;
  clock: Clock;
  logger: Logger;
  plugins: Plugins;
}

interface PoolMemory {
  history: Recommendation[];
  limitedBy?: ScaleLimit | undefined;
  /** While scaling from zero: the oldest pending task's creation. */
  zeroSince?: number | undefined;
}

/**
 * The policy controller: for the policy that governs a namespace, validates its plugin
 * configuration (routing itself reads the policy from the cache), and scales each pool:
 * gather the pool's agents and the queue, ask core/autoscaler for the size and
 * core/pool-plan for the steps, write them, report status and Events.
 */
export class PolicyReconciler implements Reconciler {
  private readonly d: PolicyReconcilerDeps;
  private readonly memory = new Map<string, PoolMemory>();
  private readonly expectations = new Expectations(30_000);
  /** When this controller first looked at a pool (the start of the bounds grace). */
  private firstLookAt: number | undefined;

  constructor(deps: PolicyReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const policy = this.d.policies.get(key);
    if (!policy || policy.metadata.deletionTimestamp) {
      this.forget(key);
      return undefined;
    }
    const namespace = policy.metadata.namespace ?? '';
    const now = this.d.clock.now();
    const governing = governingPolicyOf(this.d.policies.list(), namespace);
    if (governing && keyOf(governing) !== key) {
      this.forget(key);
      await this.writeStatus(policy, now, ctx, {
        ready: {
          type: 'Ready',
          status: 'False',
          reason: 'Superseded',
          message: `policy ${governing.metadata.name ?? ''} governs namespace ${namespace} (the oldest policy wins), so this one is not in force: merge it into ${governing.metadata.name ?? ''} and delete it`,
        },
      });
      return undefined;
    }
    const parsed = policySchema.safeParse(policy);
    if (!parsed.success) {
      // The CRD schema should have refused it; say so rather than act on half of it.
      await this.writeStatus(policy, now, ctx, {
        ready: {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidSpec',
          message: parsed.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`).join('; '),
        },
      });
      return undefined;
    }
    const spec = parsed.data.spec;
    const pools = spec.autoscaling?.pools ?? [];
    const built = this.d.plugins.registry.build(spec.routing, spec.plugins, spec);
    const ready: ConditionUpdate =
      built.errors.length > 0
        ? {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidPluginConfig',
            message: `${built.errors.join('; ')}; the last valid configuration stays in force`,
          }
        : {
            type: 'Ready',
            status: 'True',
            reason: 'Applied',
            message: `routing ${spec.routing.strategy}; ${pools.length} pool${pools.length === 1 ? '' : 's'}`,
          };

    const owned = this.d.agents
      .byIndex(AGENTS_BY_POLICY, key)
      .filter((a) => a.metadata.ownerReferences?.some((r) => r.uid === policy.metadata.uid));
    const names = new Set(pools.map((p) => p.name));
    const stray = owned.filter((a) => !names.has(a.metadata.labels?.[POOL_LABEL] ?? '') && !a.metadata.deletionTimestamp);
    if (stray.length > 0) await this.removeStray(policy, stray, now, ctx);

    let requeueAfter = RESYNC_MS;
    const statuses: PoolStatus[] = [];
    const previous = new Map((policyStatus(policy).pools ?? []).map((p) => [p.name, p]));
    for (const pool of pools) {
      const members = owned.filter((a) => a.metadata.labels?.[POOL_LABEL] === pool.name);
      const r = await this.reconcilePool(policy, pool, members, previous.get(pool.name), now, ctx);
      statuses.push(r.status);
      requeueAfter = Math.min(requeueAfter, r.requeueAfterMs);
    }
    for (const poolKey of this.memory.keys()) {
      if (poolKey.startsWith(`${key}/`) && !names.has(poolKey.slice(key.length + 1))) this.forgetPool(poolKey);
    }
    // What routing falls back on after a restart while the spec is invalid.
    const inForce =
      built.errors.length === 0
        ? { generation: policy.metadata.generation ?? 0, routing: spec.routing, ...(spec.plugins ? { plugins: spec.plugins } : {}) }
        : 'keep';
    const enabled = built.profile ? built.instances : undefined;
    const reports = enabled ? this.d.plugins.reports.for(namespace).filter((r) => enabled.has(r.name)) : 'keep';
    await this.writeStatus(policy, now, ctx, {
      ready,
      pools: statuses,
      inForce,
      degraded: this.degradedCondition(namespace, now),
      plugins: reports,
    });
    return { requeueAfter };
  }

  private async reconcilePool(
    policy: KubeObject,
    pool: Pool,
    agents: readonly KubeObject[],
    previous: PoolStatus | undefined,
    now: number,
    ctx: ReconcileContext,
  ): Promise<{ status: PoolStatus; requeueAfterMs: number }> {
    const namespace = policy.metadata.namespace ?? '';
    const policyKey = keyOf(policy);
    const poolKey = `${policyKey}/${pool.name}`;
    const { desiredState: _ignored, ...template } = pool.template;
    const templateHash = specHash(template);
    const live = agents.filter((a) => !a.metadata.deletionTimestamp);
    const tasksOf = (a: KubeObject): KubeObject[] => this.d.tasks.byIndex(TASKS_BY_AGENT, keyOf(a));
    const members = live.map((a) => poolMember(a, tasksOf(a), templateHash));
    const asleep = members.filter((m) => m.asleep).length;
    const current = members.length - asleep;
    const status = (desired: number, reason: string, scaled: boolean): PoolStatus => {
      const lastScaleTime = scaled ? rfc3339(now) : previous?.lastScaleTime;
      return { name: pool.name, current, desired, sleeping: asleep, ...(lastScaleTime ? { lastScaleTime } : {}), reason };
    };

    // Act only on a pool the cache shows as this controller left it.
    if (!this.expectations.met(poolKey, (k) => this.d.agents.get(k), now)) {
      return {
        status: status(previous?.desired ?? current, previous?.reason ?? 'waiting for the cache to show the last changes', false),
        requeueAfterMs: EXPECTATION_POLL_MS,
      };
    }

    // Bounds a lifecycle plugin holds for the pool (a schedule's window); none are known
    // until the plugins have looked at the namespace once since the operator started.
    this.firstLookAt ??= now;
    if (!this.d.plugins.pools.known(namespace) && now - this.firstLookAt < BOUNDS_GRACE_MS) {
      return {
        status: status(previous?.desired ?? current, previous?.reason ?? 'waiting for the plugins’ first look at the namespace', false),
        requeueAfterMs: EXPECTATION_POLL_MS,
      };
    }
    const awake = awakeBounds(this.d.plugins.pools.for(namespace, pool.name));

    const memberNames = new Set(members.map((m) => m.name));
    const pending = pendingFor(this.d.tasks.byIndex(TASKS_BY_NAMESPACE, namespace), pool.template.capabilities, memberNames);
    const active = members.reduce((sum, m) => sum + m.active, 0);
    const memory = this.memory.get(poolKey) ?? { history: [] };
    const decision = decideScale(
      { ...pool, maxConcurrentTasks: pool.template.maxConcurrentTasks },
      { pending: pending.count, active, current },
      memory.history,
      now,
      awake,
    );
    const plan = planPool({
      desired: decision.desired,
      maxAgents: pool.maxAgents,
      maxStep: pool.scaleUp.maxStep,
      sleepAfterIdleMs: pool.sleepAfterIdleSeconds === undefined ? undefined : pool.sleepAfterIdleSeconds * 1000,
      maxAwake: awake.maxAwake?.count,
      members,
      deleting: agents.length - live.length,
      now,
    });

    // Time to scale from zero: from the oldest task that waited to the first agent Ready.
    if (current === 0 && decision.desired > 0 && memory.zeroSince === undefined) memory.zeroSince = pending.oldest ?? now;
    if (memory.zeroSince !== undefined) {
      const firstReady = Math.min(...live.map((a) => readySince(a) ?? Infinity));
      if (Number.isFinite(firstReady)) {
        this.d.metrics.scaleFromZeroSeconds.observe(
          { namespace, policy: policy.metadata.name ?? '', pool: pool.name },
          Math.max(0, firstReady - memory.zeroSince) / 1000,
        );
        memory.zeroSince = undefined;
      } else if (decision.desired === 0) {
        memory.zeroSince = undefined;
      }
    }

    const byName = new Map(live.map((a) => [a.metadata.name ?? '', a]));
    const done = await carryOut(
      this.d.client,
      this.expectations,
      { policy, pool: pool.name, template, templateHash, poolKey },
      plan,
      byName,
      now,
      ctx.signal,
    );
    this.report(policy, pool.name, current, decision.desired, decision.reason, done);
    if (decision.limitedBy !== memory.limitedBy && decision.limitedBy === 'maxAgents') {
      void this.d.events.record(policy, 'Warning', 'PoolAtMax', 'Scale', `pool ${pool.name}: ${decision.reason}`);
    }
    this.memory.set(poolKey, { ...memory, history: decision.history, limitedBy: decision.limitedBy });
    this.d.metrics.sizes.set(poolKey, {
      namespace,
      policy: policy.metadata.name ?? '',
      pool: pool.name,
      current,
      desired: decision.desired,
      asleep,
    });

    const scaled = done.created.length + done.woken.length + done.slept.length + done.removed.length > 0;
    const stabilizing = decision.limitedBy === 'upStabilization' || decision.limitedBy === 'downStabilization';
    const requeueAfterMs = Math.min(RESYNC_MS, plan.requeueAfterMs ?? RESYNC_MS, stabilizing ? 5_000 : RESYNC_MS);
    return { status: status(decision.desired, decision.reason, scaled), requeueAfterMs };
  }

  /** Events and counters for what a pool look did. */
  private report(policy: KubeObject, pool: string, current: number, desired: number, reason: string, done: CarriedOut): void {
    const labels = { namespace: policy.metadata.namespace ?? '', policy: policy.metadata.name ?? '', pool };
    const up = done.created.length + done.woken.length;
    const down = done.removed.length + done.slept.length;
    if (up > 0) this.d.metrics.scaleEvents.inc({ ...labels, direction: 'up' }, up);
    if (down > 0) this.d.metrics.scaleEvents.inc({ ...labels, direction: 'down' }, down);
    const list = (verb: string, names: string[]): string | undefined =>
      names.length > 0 ? `${verb} ${names.sort().join(', ')}` : undefined;
    const what = (...parts: (string | undefined)[]): string => parts.filter((p) => p !== undefined).join('; ');
    if (up > 0) {
      void this.d.events.record(
        policy,
        'Normal',
        'ScaledUp',
        'Scale',
        `pool ${pool}: ${current} → ${desired} agents (${what(list('created', done.created), list('woke', done.woken))}): ${reason}`,
      );
    }
    if (down > 0) {
      void this.d.events.record(
        policy,
        'Normal',
        'ScaledDown',
        'Scale',
        `pool ${pool}: ${current} → ${desired} agents (${what(list('removing', done.removed), list('put to sleep', done.slept))}): ${reason}`,
      );
    }
    if (done.rolled.length > 0) {
      void this.d.events.record(
        policy,
        'Normal',
        'RollingTemplate',
        'Roll',
        `pool ${pool}: moving ${done.rolled.sort().join(', ')} onto the changed template (running tasks finish first)`,
      );
    }
  }

  /** Agents of a pool that is no longer in the spec: they drain and go. */
  private async removeStray(policy: KubeObject, stray: readonly KubeObject[], now: number, ctx: ReconcileContext): Promise<void> {
    const byPool = new Map<string, KubeObject[]>();
    for (const a of stray) {
      const pool = a.metadata.labels?.[POOL_LABEL] ?? '';
      byPool.set(pool, [...(byPool.get(pool) ?? []), a]);
    }
    for (const [pool, agents] of byPool) {
      const byName = new Map(agents.map((a) => [a.metadata.name ?? '', a]));
      const plan = { create: 0, wake: [], sleep: [], roll: [], remove: [...byName.keys()] };
      const target = { policy, pool, template: {}, templateHash: '', poolKey: `${keyOf(policy)}/${pool}` };
      const done = await carryOut(this.d.client, this.expectations, target, plan, byName, now, ctx.signal);
      void this.d.events.record(
        policy,
        'Normal',
        'PoolRemoved',
        'Scale',
        `pool ${pool} is no longer in the policy: removing ${done.removed.sort().join(', ')}`,
      );
    }
  }

  private async writeStatus(
    policy: KubeObject,
    now: number,
    ctx: ReconcileContext,
    s: {
      ready: ConditionUpdate;
      pools?: PoolStatus[];
      inForce?: PolicyStatus['inForce'] | 'keep';
      degraded?: ConditionUpdate;
      /** What hosts did for the enabled plugins (webhook deliveries); 'keep' leaves the last written. */
      plugins?: PolicyStatus['plugins'] | 'keep';
    },
  ): Promise<void> {
    const previous = policyStatus(policy).conditions;
    const previousReason = previous?.find((c) => c.type === 'Ready')?.reason;
    const wasDegraded = previous?.find((c) => c.type === 'PluginDegraded')?.status === 'True';
    await this.d.writer.updateStatus<PolicyStatus>(
      Policies,
      {
        current: policy,
        status: (fresh) => {
          const old = fresh.status ?? {};
          const generation = fresh.metadata.generation;
          const pools = s.pools ?? [];
          let conditions = setCondition(old.conditions, s.ready, rfc3339(now), generation);
          if (s.degraded) conditions = setCondition(conditions, s.degraded, rfc3339(now), generation);
          const inForce = s.inForce === 'keep' ? old.inForce : s.inForce;
          const plugins = s.plugins === 'keep' ? old.plugins : s.plugins;
          return {
            ...(pools.length > 0 ? { pools, summary: poolSummary(pools) } : {}),
            ...(inForce ? { inForce } : {}),
            ...(plugins && plugins.length > 0 ? { plugins } : {}),
            conditions,
            ...(generation !== undefined ? { observedGeneration: generation } : {}),
          };
        },
      },
      ctx.signal,
    );
    if (previousReason !== s.ready.reason && s.ready.status === 'False') {
      void this.d.events.record(policy, 'Warning', s.ready.reason, 'Validate', s.ready.message);
    }
    if (s.degraded && (s.degraded.status === 'True') !== wasDegraded) {
      const warning = s.degraded.status === 'True';
      void this.d.events.record(
        policy,
        warning ? 'Warning' : 'Normal',
        warning ? 'PluginDegraded' : 'PluginRecovered',
        'Plugin',
        s.degraded.message,
      );
    }
  }

  /** PluginDegraded: which plugins failed lately, in words that stay the same while nothing new fails. */
  private degradedCondition(namespace: string, now: number): ConditionUpdate {
    const degraded = this.d.plugins.health.degraded(namespace, now);
    if (degraded.length === 0) {
      return { type: 'PluginDegraded', status: 'False', reason: 'PluginsHealthy', message: 'no plugin failed in the last 5 minutes' };
    }
    const parts = degraded.map((d) => `${d.plugin} (${d.point}): ${d.message}`);
    return {
      type: 'PluginDegraded',
      status: 'True',
      reason: 'PluginFailed',
      message: `${parts.join('; ')}; its answers are discarded (tasks it judged wait, lifecycle intents are dropped) until it stops failing`,
    };
  }

  private forget(policyKey: string): void {
    for (const poolKey of [...this.memory.keys()]) if (poolKey.startsWith(`${policyKey}/`)) this.forgetPool(poolKey);
    this.expectations.forget(`${policyKey}/`);
  }

  private forgetPool(poolKey: string): void {
    this.memory.delete(poolKey);
    this.d.metrics.sizes.delete(poolKey);
  }
}
