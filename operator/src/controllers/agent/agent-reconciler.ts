import type { Logger } from 'pino';
import { agent as agentSchema, type Agent, type AgentStatus } from '../../api/agent.ts';
import { RESTART_ANNOTATION, WORKLOAD_FINALIZER } from '../../api/common.ts';
import { agentKind } from '../../api/kinds.ts';
import type { Config } from '../../config/config.ts';
import { reviewAgent, type AgentReviewVerdict, type AgentReviews } from '../../framework/agent-review.ts';
import { RUNTIME_UNAVAILABLE, decideAgent, type AgentDecision, type AgentObservation } from '../../core/agent-lifecycle.ts';
import { firstStatusHeldForMs, heartbeatTimeToRecord, reportOnly } from '../../core/agent-status-writes.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import { TerminalError, isNotFound, messageOf } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { PodRuntime } from '../../runtimes/kubernetes/pod-runtime.ts';
import { WorkloadError, type AgentRef, type AgentRuntime, type WorkloadStatus } from '../../runtimes/runtime.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { TASKS_BY_AGENT } from '../indexes.ts';
import type { DockerAgents } from './docker-agents.ts';
import type { AgentMetrics } from './metrics.ts';
import { workloadSpecOf } from './workload.ts';
import { taskStatus } from '../resources.ts';

const Agents = resourceOfKind(agentKind);
const ACTIVE_TASK_PHASES = new Set(['Assigned', 'Running']);
// A container's exit is only seen by looking: docker agents are looked at this often.
const DOCKER_POLL_MS = 10_000;

export interface AgentReconcilerDeps {
  config: Config;
  client: RestClient;
  writer: Writer;
  events: EventRecorder;
  agents: SharedInformer<KubeObject>;
  leases: SharedInformer<KubeObject>;
  tasks: SharedInformer<KubeObject>;
  pods: PodRuntime;
  docker: DockerAgents;
  metrics: AgentMetrics;
  clock: Clock;
  logger: Logger;
  /** Plugins' reviews of the spec before a workload is started. */
  reviews: AgentReviews;
}

/** The condition that carries the plugins' agent reviews (the security plugin's policy). */
export const POLICY_COMPLIANT = 'PolicyCompliant';

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
}

/** Gather (caches, runtime), decide (core/agent-lifecycle), write (workload, status, events). */
export class AgentReconciler implements Reconciler {
  private readonly d: AgentReconcilerDeps;
  private readonly registered = new Set<string>();

  constructor(deps: AgentReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    let cached = this.d.agents.get(key);
    if (!cached) return undefined;
    const parsed = agentSchema.safeParse(cached);
    if (!parsed.success) {
      // The CRD schema should make this impossible; an old object from before a schema change can still get here.
      throw new TerminalError(
        `Agent ${key} does not match the schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    let agent = parsed.data;
    const deleting = cached.metadata.deletionTimestamp !== undefined;
    if (!deleting && !(cached.metadata.finalizers ?? []).includes(WORKLOAD_FINALIZER)) {
      // Carry on with the object as patched: waiting for the cache to bring it back would
      // cost a second reconcile, and a status write from the stale copy a conflict.
      const patched = await this.setFinalizers(cached, [...(cached.metadata.finalizers ?? []), WORKLOAD_FINALIZER], ctx.signal);
      if (!patched) return undefined;
      cached = patched;
    }
    const meta = cached.metadata;
    const ref: AgentRef = { namespace: meta.namespace ?? '', name: meta.name ?? '', uid: meta.uid ?? '' };

    // A workload is started only for a spec the plugins' reviews admit; one already
    // running is left alone until it would be made again (a restart, a roll, a wake).
    const verdict = this.d.reviews.plugins.length > 0 ? reviewAgent(this.d.reviews, agent) : undefined;
    if (verdict?.denied && !agent.status?.workload?.name) return this.refuseUntouched(cached, agent, verdict, deleting, ref, ctx);

    const runtime = await this.runtimeOf(agent);
    const now = this.d.clock.now();
    let workload: WorkloadStatus | undefined;
    let runtimeError: AgentObservation['runtimeError'];
    try {
      workload = await runtime.observe(ref, ctx.signal);
    } catch (err) {
      runtimeError = { ...runtimeErrorOf(err), observing: true };
    }
    const observation = this.observationOf(agent, cached, ref, now, workload, runtimeError);
    let decision = decideAgent(observation);
    // How the process last ended, seen before a restart makes the runtime forget it.
    const lastExit = workload?.lastExit;
    if (verdict?.denied && (decision.action.type === 'ensure' || decision.action.type === 'restart')) {
      decision = refused(decision, verdict, observation.restarts);
    }

    switch (decision.action.type) {
      case 'ensure':
      case 'restart': {
        try {
          const { envFrom, ...spec } = workloadSpecOf(agent, ref);
          // Docker gets the values (a failure to read them is a WorkloadError the status reports); a Pod the references.
          const resolved = runtime.type === 'docker' ? await this.d.docker.containerEnv(ref, spec.env, envFrom) : undefined;
          const env = resolved ? { env: resolved.env } : { env: spec.env, ...(envFrom ? { envFrom } : {}) };
          // The workload records the restart request it is made under (see restartDue).
          workload = await runtime.ensure({ ...spec, ...env, restartedAt: meta.annotations?.[RESTART_ANNOTATION] ?? '' }, ctx.signal);
          // As the kubelet does on a container start: envFrom keys that are no variable names.
          for (const note of resolved?.skipped ?? [])
            void this.d.events.record(cached, 'Warning', 'InvalidEnvironmentVariableNames', 'Start', note);
          if (decision.action.type === 'restart') this.d.metrics.restarts.inc({ runtime: runtime.type });
          decision = { ...decideAgent({ ...observation, workload, restarts: decision.restarts }), restarts: decision.restarts };
        } catch (err) {
          if (!isRuntimeFailure(err)) throw err;
          decision = decideAgent({ ...observation, runtimeError: runtimeErrorOf(err) });
        }
        break;
      }
      case 'replace':
      case 'remove': {
        try {
          await runtime.remove(ref, ctx.signal);
        } catch (err) {
          if (!isRuntimeFailure(err)) throw err;
          const since = meta.deletionTimestamp ? Date.parse(meta.deletionTimestamp) : now;
          if (deleting && now - since >= this.d.config.agentRemovalTimeoutSeconds * 1000) {
            // The runtime stays unreachable: do not keep the Agent forever; say what was left behind.
            await this.d.events.record(
              cached,
              'Warning',
              'WorkloadAbandoned',
              'Delete',
              `${messageOf(err)}; the workload is left to the orphan sweep`,
            );
            await this.setFinalizers(
              cached,
              (meta.finalizers ?? []).filter((f) => f !== WORKLOAD_FINALIZER),
              ctx.signal,
            );
            return undefined;
          }
          workload = undefined;
          decision = decideAgent({ ...observation, workload: undefined, runtimeError: runtimeErrorOf(err) });
          if (deleting) {
            // Look again no later than the moment the Agent is to be released.
            const release = since + this.d.config.agentRemovalTimeoutSeconds * 1000 - now;
            decision = { ...decision, requeueAfterMs: Math.max(1, Math.min(decision.requeueAfterMs ?? release, release)) };
          }
          break;
        }
        if (decision.action.type === 'replace') {
          this.d.metrics.restarts.inc({ runtime: runtime.type });
          void this.d.events.record(cached, 'Normal', 'Restarting', 'Restart', decision.ready.message);
        }
        workload = await runtime.observe(ref, ctx.signal).catch(() => undefined);
        if (!workload) {
          decision = { ...decideAgent({ ...observation, workload: undefined, runtimeError: undefined }), restarts: decision.restarts };
          // Gone at once (a container): nothing else will bring this key back to make the new one.
          if (decision.action.type === 'ensure') decision = { ...decision, requeueAfterMs: 1 };
        }
        if (decision.action.type === 'finalize') {
          await this.finalize(cached, decision, ctx, runtime, ref);
          return undefined;
        }
        break;
      }
      case 'finalize':
        await this.finalize(cached, decision, ctx, runtime, ref);
        return undefined;
      case 'none':
        break;
    }

    // On its way since its workload was made: in a fleet start an agent may wait its turn
    // for the request budget long before its Pod is made.
    const onItsWay = Math.max(Date.parse(meta.creationTimestamp ?? ''), workload?.createdAt ?? Number.NEGATIVE_INFINITY);
    // A fresh look at the clock: the workload may have been made after `now` was read.
    const quiet = firstStatusHeldForMs(agent.status, decision.phase, onItsWay, this.d.clock.now());
    if (quiet !== undefined) return { requeueAfter: Math.min(quiet, decision.requeueAfterMs ?? quiet) };
    agent = await this.writeStatus(cached, agent, decision, workload, lastExit, runtimeError?.observing === true, ref, ctx, verdict);
    if (runtime.type === 'docker' && workload?.phase === 'Running')
      await this.d.docker.refreshCredentialsIfDue(ref, agent.spec.runtime.docker?.host);
    const requeue = decision.requeueAfterMs;
    const poll = runtime.type === 'docker' && workload ? DOCKER_POLL_MS : undefined;
    const after = [requeue, poll].filter((v): v is number => v !== undefined);
    return after.length ? { requeueAfter: Math.min(...after) } : undefined;
  }

  private observationOf(
    agent: Agent,
    cached: KubeObject,
    ref: AgentRef,
    now: number,
    workload: WorkloadStatus | undefined,
    runtimeError: AgentObservation['runtimeError'],
  ): AgentObservation {
    const meta = cached.metadata;
    return {
      now,
      deleting: meta.deletionTimestamp !== undefined,
      desiredState: agent.spec.desiredState,
      specHash: workloadSpecOf(agent, ref).specHash,
      workload,
      runtimeError,
      heartbeatAt: this.heartbeatAt(ref),
      heartbeatTimeoutMs: agent.spec.heartbeat.timeoutSeconds * 1000,
      activeTasks: this.activeTasks(ref),
      drainingSince: agent.status?.drainingSince ? Date.parse(agent.status.drainingSince) : undefined,
      drainGraceMs: this.d.config.agentDrainGraceSeconds * 1000,
      restarts: agent.status?.workload?.restarts ?? 0,
      startupGraceMs: this.d.config.agentStartupGraceSeconds * 1000,
      restartRequestedAt: timeOf(meta.annotations?.[RESTART_ANNOTATION]),
    };
  }

  /**
   * An Agent the reviews refuse, for which nothing was made (no workload in its status):
   * its runtime is not even contacted, so a Docker engine the policy forbids is never
   * dialled (nor remembered for the orphan sweep). Deleted, it only loses its finalizer.
   */
  private async refuseUntouched(
    cached: KubeObject,
    agent: Agent,
    verdict: AgentReviewVerdict,
    deleting: boolean,
    ref: AgentRef,
    ctx: ReconcileContext,
  ): Promise<undefined> {
    if (deleting) {
      this.d.pods.forget(ref);
      this.d.docker.forget(ref);
      ctx.log.info('refused by policy, nothing was started; releasing the Agent');
      await this.setFinalizers(
        cached,
        (cached.metadata.finalizers ?? []).filter((f) => f !== WORKLOAD_FINALIZER),
        ctx.signal,
      );
      return undefined;
    }
    const observation = this.observationOf(agent, cached, ref, this.d.clock.now(), undefined, undefined);
    const decision = refused(decideAgent(observation), verdict, observation.restarts);
    await this.writeStatus(cached, agent, decision, undefined, undefined, false, ref, ctx, verdict);
    return undefined;
  }

  private async runtimeOf(agent: Agent): Promise<AgentRuntime> {
    return agent.spec.runtime.type === 'docker' ? this.d.docker.runtimeFor(agent.spec.runtime.docker?.host) : this.d.pods;
  }

  private heartbeatAt(ref: AgentRef): number | undefined {
    const lease = this.d.leases.get(`${ref.namespace}/agent-${ref.name}`);
    const spec = lease?.spec as LeaseSpec | undefined;
    // A released lease (no holder) is a runner that said goodbye.
    if (!spec?.holderIdentity || !spec.renewTime) return undefined;
    return Date.parse(spec.renewTime);
  }

  private activeTasks(ref: AgentRef): number {
    return this.d.tasks
      .byIndex(TASKS_BY_AGENT, `${ref.namespace}/${ref.name}`)
      .filter((t) => ACTIVE_TASK_PHASES.has(String(taskStatus(t).phase))).length;
  }

  private async finalize(
    cached: KubeObject,
    decision: AgentDecision,
    ctx: ReconcileContext,
    runtime: AgentRuntime,
    ref: AgentRef,
  ): Promise<void> {
    try {
      // What outlived the workload on purpose (a docker workspace volume) goes with the Agent.
      await runtime.release?.(ref, ctx.signal);
    } catch (err) {
      const since = cached.metadata.deletionTimestamp ? Date.parse(cached.metadata.deletionTimestamp) : this.d.clock.now();
      if (this.d.clock.now() - since < this.d.config.agentRemovalTimeoutSeconds * 1000) throw err;
      await this.d.events.record(
        cached,
        'Warning',
        'WorkloadAbandoned',
        'Delete',
        `${messageOf(err)}; the workspace is left to the orphan sweep`,
      );
    }
    // What the runtimes remember of the Agent goes too: a churning fleet leaves nothing behind.
    this.d.pods.forget(ref);
    this.d.docker.forget(ref);
    ctx.log.info({ phase: decision.phase }, 'workload gone; releasing the Agent');
    await this.setFinalizers(
      cached,
      (cached.metadata.finalizers ?? []).filter((f) => f !== WORKLOAD_FINALIZER),
      ctx.signal,
    );
  }

  /**
   * A merge patch that carries the resourceVersion: a concurrent change makes it 409. An
   * Agent already gone (another replica, or a retry, released it) needs nothing more:
   * undefined then, else the Agent as patched.
   */
  private async setFinalizers(obj: KubeObject, finalizers: string[], signal: AbortSignal): Promise<KubeObject | undefined> {
    const { namespace, name = '', resourceVersion } = obj.metadata;
    try {
      return await this.d.client.request<KubeObject>('PATCH', objectPath(Agents, namespace, name), {
        body: { metadata: { finalizers, resourceVersion } },
        contentType: 'application/merge-patch+json',
        signal,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return undefined;
    }
  }

  private async writeStatus(
    cached: KubeObject,
    agent: Agent,
    decision: AgentDecision,
    workload: WorkloadStatus | undefined,
    exitBefore: WorkloadStatus['lastExit'],
    unobserved: boolean,
    ref: AgentRef,
    ctx: ReconcileContext,
    verdict: AgentReviewVerdict | undefined,
  ): Promise<Agent> {
    const now = this.d.clock.now();
    const heartbeatAt = this.heartbeatAt(ref);
    const generation = cached.metadata.generation;
    const statusOf = (current: AgentStatus | undefined): AgentStatus => {
      const stamp = rfc3339(now);
      let conditions = setCondition(current?.conditions, { type: 'Ready', ...decision.ready }, stamp, generation);
      conditions = setCondition(conditions, { type: 'Healthy', ...decision.healthy }, stamp, generation);
      if (verdict) conditions = setCondition(conditions, { type: POLICY_COMPLIANT, ...compliance(verdict) }, stamp, generation);
      const { drainingSince: _d, workload: _w, lastHeartbeatTime: _h, ...rest } = current ?? {};
      const lastExit = latestExit(current?.workload?.lastExit, exitBefore, workload?.lastExit);
      // Copying every renewal into status would write the Agent on every heartbeat (the
      // churn Leases exist to avoid): it is refreshed when it lags by half the timeout.
      return {
        ...rest,
        phase: decision.phase,
        conditions,
        activeTasks: this.activeTasks(ref),
        ...lastHeartbeat(current?.lastHeartbeatTime, heartbeatAt, agent.spec.heartbeat.timeoutSeconds * 500),
        ...(workload
          ? {
              workload: {
                kind: workload.kind,
                name: workload.name,
                ...(workload.id ? { id: workload.id } : {}),
                restarts: decision.restarts,
                // The task controller hands back attempts that started before it.
                ...(workload.startedAt !== undefined ? { startedAt: rfc3339(workload.startedAt) } : {}),
                ...(lastExit ? { lastExit } : {}),
              },
            }
          : unobserved && current?.workload
            ? // The runtime did not answer: what was last seen of the workload still stands.
              { workload: { ...current.workload, restarts: decision.restarts } }
            : decision.restarts
              ? {
                  workload: {
                    kind: agent.spec.runtime.type === 'docker' ? 'Container' : 'Pod',
                    name: '',
                    restarts: decision.restarts,
                    ...(lastExit ? { lastExit } : {}),
                  },
                }
              : {}),
        ...(decision.drainingSince !== undefined ? { drainingSince: rfc3339(decision.drainingSince) } : {}),
        stats: current?.stats ?? { succeeded: 0, failed: 0, consecutiveFailures: 0 },
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      };
    };
    // Transitions are judged against the status the write replaced: a reconcile from a
    // stale cache (right after the finalizer patch, say) conflicts, reads the status
    // written meanwhile, and must not announce the same transition twice.
    let replaced = agent.status;
    const written = await this.d.writer.updateStatus<AgentStatus>(
      Agents,
      {
        current: cached,
        status: (obj) => {
          replaced = obj.status;
          return statusOf(obj.status);
        },
        priority: reportOnly(agent.status, decision) ? 'low' : 'normal',
      },
      ctx.signal,
    );
    const previous = replaced?.phase;
    const previousReady = replaced?.conditions?.find((c) => c.type === 'Ready')?.reason;
    let announced = false;
    if (previous === decision.phase && (previousReady === RUNTIME_UNAVAILABLE) !== (decision.ready.reason === RUNTIME_UNAVAILABLE)) {
      // Serving all along, but the runtime went away or came back: once each way.
      const lost = decision.ready.reason === RUNTIME_UNAVAILABLE;
      void this.d.events.record(
        cached,
        lost ? 'Warning' : 'Normal',
        lost ? RUNTIME_UNAVAILABLE : 'RuntimeAvailable',
        'Reconcile',
        lost ? decision.ready.message : `the runtime answers again: ${decision.ready.message}`,
      );
    }
    if (previous === 'Failed' && decision.phase === 'Failed' && previousReady !== decision.ready.reason) {
      // Still failing, for another reason (a Secret now readable but missing): once per
      // change, never per retry.
      void this.d.events.record(cached, 'Warning', decision.ready.reason, 'Reconcile', decision.ready.message);
      announced = true;
    }
    if (previous !== decision.phase) {
      const failing = decision.phase === 'Failed';
      void this.d.events.record(
        cached,
        failing ? 'Warning' : 'Normal',
        failing ? decision.ready.reason : decision.phase,
        'Reconcile',
        `${previous ?? 'new'} → ${decision.phase}: ${decision.ready.message}`,
      );
      announced = true;
      const serving = decision.phase === 'Ready' || decision.phase === 'Busy';
      if (serving && !this.registered.has(ref.uid) && (previous === undefined || previous === 'Pending' || previous === 'Starting')) {
        this.registered.add(ref.uid);
        const created = cached.metadata.creationTimestamp ? Date.parse(cached.metadata.creationTimestamp) : now;
        this.d.metrics.registration.observe({ runtime: agent.spec.runtime.type }, Math.max(0, now - created) / 1000);
      }
      ctx.log.info({ from: previous, to: decision.phase, reason: decision.ready.reason }, 'phase changed');
    }
    if (verdict) this.announceCompliance(cached, verdict, replaced, announced && decision.ready.reason === verdict.reason);
    return written ? (agentSchema.safeParse(written).data ?? agent) : agent;
  }

  /**
   * One Event per change of the review's message: a Warning naming every violation (unless
   * the phase change just said it), a Normal one when the Agent complies again.
   */
  private announceCompliance(cached: KubeObject, verdict: AgentReviewVerdict, replaced: AgentStatus | undefined, said: boolean): void {
    const was = replaced?.conditions?.find((c) => c.type === POLICY_COMPLIANT);
    const now = compliance(verdict);
    if (was?.status === now.status && was.message === now.message) return;
    if (now.status === 'False' && !said) void this.d.events.record(cached, 'Warning', now.reason, 'Review', now.message);
    if (now.status === 'True' && was?.status === 'False')
      void this.d.events.record(cached, 'Normal', POLICY_COMPLIANT, 'Review', 'the Agent complies with the policy again');
  }
}

/** The decision for an Agent whose workload the reviews refuse to start: Failed until its spec (or the policy) changes. */
function refused(decision: AgentDecision, verdict: AgentReviewVerdict, restarts: number): AgentDecision {
  const { requeueAfterMs: _r, ...rest } = decision;
  return {
    ...rest,
    phase: 'Failed',
    ready: { status: 'False', reason: verdict.reason, message: `the workload is not started: ${verdict.message}` },
    action: { type: 'none' },
    restarts,
  };
}

function compliance(verdict: AgentReviewVerdict): { status: 'True' | 'False'; reason: string; message: string } {
  return verdict.violations.length === 0
    ? { status: 'True', reason: 'Compliant', message: 'the spec complies with the policy' }
    : { status: 'False', reason: verdict.reason, message: verdict.message };
}

function lastHeartbeat(recorded: string | undefined, heartbeatAt: number | undefined, maxLagMs: number): { lastHeartbeatTime?: string } {
  const at = heartbeatTimeToRecord(recorded === undefined ? undefined : Date.parse(recorded), heartbeatAt, maxLagMs);
  if (at === undefined || Number.isNaN(at)) return {};
  // The recorded string as it was when it stands, so an unchanged status stays equal.
  return { lastHeartbeatTime: recorded !== undefined && at === Date.parse(recorded) ? recorded : rfc3339(at) };
}

/** An annotation's RFC 3339 time in ms; undefined when absent or not a time. */
function timeOf(value: string | undefined): number | undefined {
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function isRuntimeFailure(err: unknown): boolean {
  return err instanceof WorkloadError;
}

function runtimeErrorOf(err: unknown): { reason: string; message: string } {
  return err instanceof WorkloadError ? { reason: err.reason, message: err.message } : { reason: 'RuntimeError', message: messageOf(err) };
}

type LastExit = NonNullable<NonNullable<AgentStatus['workload']>['lastExit']>;

/** The most recent of the exits known (the one in status, and what the runtime says now), as status keeps it. */
export function latestExit(kept: LastExit | undefined, ...seen: WorkloadStatus['lastExit'][]): LastExit | undefined {
  let latest = kept;
  for (const e of seen) {
    if (e === undefined) continue;
    if (latest === undefined || e.finishedAt > Date.parse(latest.finishedAt)) {
      // An exit code outside the schema's range (some runtimes report unsigned Windows codes) is left out.
      const code = e.exitCode !== undefined && Math.abs(e.exitCode) <= 1024 ? { exitCode: e.exitCode } : {};
      latest = { reason: e.reason.slice(0, 256), ...code, finishedAt: rfc3339(e.finishedAt) };
    }
  }
  return latest;
}
