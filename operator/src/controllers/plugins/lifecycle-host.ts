import { atLeast } from '../../runtime/rest/resource-version.ts';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { RESTART_ANNOTATION, type Condition } from '../../api/common.ts';
import { agentKind, policyKind, taskKind } from '../../api/kinds.ts';
import type { AgentObject, Hook, Intent, LifecyclePlugin, NamespaceSnapshot, Target, TaskObject } from '../../framework/lifecycle.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import { isConflict, isNotFound, messageOf } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { objectPath, resourceOfKind, type ResourceType } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { TASKS_BY_NAMESPACE } from '../indexes.ts';
import { Expectations } from '../policy/expectations.ts';
import { governingPolicyOf, type Policies } from '../task/policies.ts';
import { guardOptions, type Plugins } from './host.ts';
import { FAILED, Guard, type GuardOptions } from '../../framework/guard.ts';
import { typedAgent, typedPolicy, typedTask } from './typed.ts';
import { agentSpec } from '../resources.ts';
import { loopHeldTooLong, nextLoopTurn } from '../../runtime/loop-share.ts';

const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const PolicyResource = resourceOfKind(policyKind);
const RESOURCES: Record<Target['kind'], ResourceType> = { Agent: Agents, Task: Tasks, OrchestratorPolicy: PolicyResource };

/** Every namespace is looked at this often with nothing changing, so time-based plugins move on. */
export const RESYNC_MS = 30_000;
/** Phase changes older than this when the leader gets to them are dropped (a replica that just became leader). */
const EVENT_MAX_AGE_MS = 10 * 60_000;
const EVENTS_PER_NAMESPACE = 10_000;
/**
 * Calls on one event per plugin before it is dropped. An event happens once, so a call
 * that ran past its budget only because the machine stalled must get another chance;
 * one that keeps failing must not hold the plugin's later events for ever.
 */
const EVENT_TRIES = 3;
const DEFERRED_RETRY_MS = 1000;

/**
 * A task or agent phase change, or an attempt that ended, seen by the watch. A phase
 * change carries the object as it was when the phase changed (when the watch had it), so
 * plugins see that version, not a later one the cache holds by the time of the tick.
 */
export type ObjectEvent =
  | {
      readonly kind: 'task-phase';
      readonly key: string;
      readonly from: string | undefined;
      readonly to: string;
      readonly at: number;
      readonly object?: KubeObject;
    }
  | {
      readonly kind: 'agent-phase';
      readonly key: string;
      readonly from: string | undefined;
      readonly to: string;
      readonly at: number;
      readonly object?: KubeObject;
    }
  | { readonly kind: 'outcome'; readonly key: string; readonly index: number; readonly at: number };

/** An event a plugin's call failed on (threw, or ran past its budget), kept for that plugin's next tick. */
type Deferred = ObjectEvent & { readonly plugin: string; readonly tries: number };

export interface LifecycleHostDeps {
  agents: SharedInformer<KubeObject>;
  tasks: SharedInformer<KubeObject>;
  policies: SharedInformer<KubeObject>;
  namespacePolicies: Policies;
  plugins: Plugins;
  client: RestClient;
  writer: Writer;
  events: EventRecorder;
  metrics: Registry;
  clock: Clock;
  logger: Logger;
  /** Delivers webhooks (the hooks family); absent, hooks are dropped with a log line. */
  deliver?: (namespace: string, hooks: readonly PluginHook[]) => void;
}

/** A webhook with the plugin that asked for it (its delivery state is reported under that name). */
export type PluginHook = Hook & { readonly plugin: string };

type Named = { name: string; plugin: LifecyclePlugin };

/** Whether the plugin has a handler for the event: the others are not called, nor the object typed for them. */
function handles(plugin: LifecyclePlugin, e: ObjectEvent): boolean {
  if (e.kind === 'task-phase') return plugin.onPhase !== undefined;
  if (e.kind === 'agent-phase') return plugin.onAgentPhase !== undefined;
  return plugin.onTaskOutcome !== undefined;
}

/**
 * Runs the lifecycle plugins of each namespace and carries out what they ask: status
 * conditions, Events, agent actions, task annotations, metrics, pool bounds, webhooks.
 * Keyed by namespace, level-based: every tick sees the whole namespace. Its own writes
 * are expected, like a ReplicaSet's: until the cache shows them the namespace is not
 * ticked again, so a plugin never acts twice on a stale view.
 */
export class LifecycleHost implements Reconciler {
  private readonly d: LifecycleHostDeps;
  private readonly log: Logger;
  private readonly expectations = new Expectations(30_000);
  private readonly queued = new Map<string, (ObjectEvent | Deferred)[]>();
  private readonly gauges = new Map<string, { gauge: Gauge; plugin: string }>();
  /** Label sets each (plugin metric, namespace) set on its last tick, to drop the ones it no longer sets. */
  private readonly series = new Map<string, Set<string>>();
  private readonly guard: GuardOptions;

  constructor(deps: LifecycleHostDeps) {
    this.d = deps;
    this.log = deps.logger.child({ controller: 'plugins' });
    this.guard = guardOptions(deps.plugins);
  }

  /** Queues an event for the namespace's next tick (informer handlers call this, then enqueue). */
  record(namespace: string, event: ObjectEvent): void {
    let list = this.queued.get(namespace);
    if (list === undefined) this.queued.set(namespace, (list = []));
    list.push(event);
    if (list.length > EVENTS_PER_NAMESPACE) list.splice(0, list.length - EVENTS_PER_NAMESPACE);
  }

  async reconcile(namespace: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const now = this.d.clock.now();
    if (!this.expectations.met(namespace, (key) => this.lookup(key), now)) return { requeueAfter: 250 };
    const plugins = [...this.d.namespacePolicies.for(namespace).plugins].flatMap(([name, i]) =>
      i.lifecycle ? [{ name, plugin: i.lifecycle }] : [],
    );
    const events = this.queued.get(namespace) ?? [];
    this.queued.delete(namespace);
    if (plugins.length === 0) {
      this.d.plugins.pools.set(namespace, new Map());
      return undefined;
    }

    const snapshot = this.snapshot(namespace, now);
    const intents: { plugin: string; intent: Intent }[] = [];
    const hooks: PluginHook[] = [];
    const deferred: Deferred[] = [];
    const failedTicks = new Set<string>();
    for (const p of plugins) {
      const ticked = this.call(namespace, p.name, now, () => p.plugin.onTick?.(snapshot) ?? []);
      if (ticked === undefined) failedTicks.add(p.name);
      for (const intent of ticked ?? []) {
        if (intent.kind === 'hook') hooks.push({ ...intent.hook, plugin: p.name });
        else intents.push({ plugin: p.name, intent });
      }
      let deferring = false;
      for (const e of events) {
        if (('plugin' in e && e.plugin !== p.name) || now - e.at > EVENT_MAX_AGE_MS || !handles(p.plugin, e)) continue;
        const tries = 'tries' in e ? e.tries : 0;
        // Once one event waits for the next tick, the plugin's later ones wait behind it, in order.
        if (deferring) {
          deferred.push({ ...e, plugin: p.name, tries });
          continue;
        }
        const more = this.call(namespace, p.name, now, () => this.dispatch(p, e, namespace, now));
        if (more === undefined) {
          if (tries + 1 < EVENT_TRIES) {
            deferred.push({ ...e, plugin: p.name, tries: tries + 1 });
            deferring = true;
          }
          continue;
        }
        for (const x of more.intents) intents.push({ plugin: p.name, intent: x });
        for (const hook of more.hooks) hooks.push({ ...hook, plugin: p.name });
        // The first tick after a start carries every cached object's phase.
        if (loopHeldTooLong()) await nextLoopTurn();
      }
    }
    if (hooks.length > 0) {
      if (this.d.deliver) this.d.deliver(namespace, hooks);
      else this.log.warn({ namespace, hooks: hooks.length }, 'no webhook client: hooks dropped');
    }
    let requeueAfter = RESYNC_MS;
    if (deferred.length > 0) {
      // Ahead of what the watch recorded while this tick ran: they happened first.
      this.queued.set(namespace, [...deferred, ...(this.queued.get(namespace) ?? [])]);
      requeueAfter = DEFERRED_RETRY_MS;
    }
    const pools = new Map<string, Extract<Intent, { kind: 'pool' }>[]>();
    const metrics = new Map<string, Set<string>>();
    for (const { plugin, intent } of intents) {
      try {
        switch (intent.kind) {
          case 'requeue':
            requeueAfter = Math.min(requeueAfter, Math.max(100, intent.afterMs));
            break;
          case 'pool':
            pools.set(plugin, [...(pools.get(plugin) ?? []), intent]);
            break;
          case 'metric':
            this.metric(namespace, plugin, intent, metrics, now);
            break;
          default:
            await this.carryOut(namespace, plugin, intent, now, ctx.signal);
        }
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) {
          requeueAfter = Math.min(requeueAfter, 1000);
          continue;
        }
        this.log.warn({ namespace, plugin, intent: intent.kind, err: messageOf(err) }, 'could not carry out a plugin intent');
        requeueAfter = Math.min(requeueAfter, 5000);
      }
    }
    this.dropStaleSeries(namespace, plugins, metrics);
    // A tick that failed says nothing about the pools: the bounds it set last still hold
    // (a night window must not wake a pool because its plugin threw once).
    for (const name of failedTicks) {
      const kept = this.d.plugins.pools.of(namespace, name);
      if (kept.length > 0) pools.set(name, [...kept]);
    }
    this.d.plugins.pools.set(namespace, pools);
    return { requeueAfter };
  }

  /** Runs one plugin call through the framework's guard: a failure drops its intents for this tick. */
  private call<T>(namespace: string, plugin: string, now: number, fn: () => T): T | undefined {
    const guard = new Guard(this.guard);
    const value = guard.run(plugin, 'Lifecycle', undefined, fn);
    for (const failure of guard.failures) this.failed(namespace, plugin, now, failure.message);
    return value === FAILED ? undefined : value;
  }

  private failed(namespace: string, plugin: string, now: number, message: string): void {
    if (this.d.plugins.health.failed(namespace, { plugin, point: 'Lifecycle', message }, now)) {
      this.log.warn({ namespace, plugin, err: message }, 'lifecycle plugin failed: its intents for this tick are dropped');
    }
  }

  private dispatch(p: Named, e: ObjectEvent, namespace: string, now: number): { intents: readonly Intent[]; hooks: readonly Hook[] } {
    const context = { now, namespace };
    if (e.kind === 'agent-phase') {
      const agent = e.object ? typedAgent(e.object) : this.typed(this.d.agents, e.key, typedAgent);
      return { intents: [], hooks: agent ? (p.plugin.onAgentPhase?.(agent, e.from, e.to, context) ?? []) : [] };
    }
    const task = e.kind === 'task-phase' && e.object ? typedTask(e.object) : this.typed(this.d.tasks, e.key, typedTask);
    if (task === undefined) return { intents: [], hooks: [] };
    if (e.kind === 'task-phase') return { intents: [], hooks: p.plugin.onPhase?.(task, e.from, e.to, context) ?? [] };
    const entry = task.status?.history?.[e.index];
    if (entry === undefined || p.plugin.onTaskOutcome === undefined) return { intents: [], hooks: [] };
    const agent = this.typed(this.d.agents, `${namespace}/${entry.agent}`, typedAgent);
    return { intents: p.plugin.onTaskOutcome({ task, agent, entry }, context), hooks: [] };
  }

  private typed<T>(informer: SharedInformer<KubeObject>, key: string, parse: (o: KubeObject) => T | undefined): T | undefined {
    const obj = informer.get(key);
    return obj ? parse(obj) : undefined;
  }

  private snapshot(namespace: string, now: number): NamespaceSnapshot {
    const agents: AgentObject[] = [];
    for (const a of this.d.agents.list()) {
      if (a.metadata.namespace !== namespace) continue;
      const t = typedAgent(a);
      if (t) agents.push(t);
    }
    const governing = governingPolicyOf(this.d.policies.list(), namespace);
    const policy = governing ? typedPolicy(governing) : undefined;
    // Tasks are typed only for a plugin that reads them: most ticks (the circuit breaker's)
    // need the agents alone, and a namespace can hold thousands of tasks.
    const source = this.d.tasks;
    let tasks: TaskObject[] | undefined;
    return {
      now,
      namespace,
      policy,
      agents,
      get tasks(): TaskObject[] {
        tasks ??= source.byIndex(TASKS_BY_NAMESPACE, namespace).flatMap((o) => typedTask(o) ?? []);
        return tasks;
      },
    };
  }

  private lookup(key: string): KubeObject | undefined {
    const colon = key.indexOf(':');
    const kind = key.slice(0, colon) as Target['kind'];
    return (kind === 'Agent' ? this.d.agents : kind === 'Task' ? this.d.tasks : this.d.policies).get(key.slice(colon + 1));
  }

  private targetObject(namespace: string, target: Target): KubeObject | undefined {
    return this.lookup(`${target.kind}:${namespace}/${target.name}`);
  }

  /** Does what the intent asks unless the object already shows it; expects its own writes. */
  private async carryOut(namespace: string, plugin: string, intent: Intent, now: number, signal: AbortSignal): Promise<void> {
    const expect = (kind: Target['kind'], obj: KubeObject, written: KubeObject | undefined): void => {
      const rv = written?.metadata.resourceVersion;
      if (rv === undefined) return;
      this.expectations.expect(
        namespace,
        `${kind}:${namespace}/${obj.metadata.name ?? ''}`,
        (o) => o === undefined || atLeast(o.metadata.resourceVersion, rv),
        now,
      );
    };
    switch (intent.kind) {
      case 'condition': {
        const obj = this.targetObject(namespace, intent.target);
        if (!obj || obj.metadata.deletionTimestamp) return;
        const written = await this.d.writer.updateStatus<{ conditions?: Condition[] } & Record<string, unknown>>(
          RESOURCES[intent.target.kind],
          {
            current: obj,
            status: (fresh) => {
              const old = fresh.status ?? {};
              const update = {
                type: intent.condition.type,
                status: intent.condition.status,
                reason: intent.condition.reason,
                message: intent.condition.message,
              };
              let conditions = setCondition(old.conditions, update, rfc3339(now));
              if (intent.since !== undefined) {
                const since = rfc3339(intent.since);
                conditions = conditions.map((c) => (c.type === update.type ? { ...c, lastTransitionTime: since } : c));
              }
              return { ...old, conditions };
            },
          },
          signal,
        );
        expect(intent.target.kind, obj, written);
        return;
      }
      case 'event': {
        const obj = this.targetObject(namespace, intent.target);
        if (obj) void this.d.events.record(obj, intent.type, intent.reason, 'Plugin', `${intent.message} (plugin ${plugin})`);
        return;
      }
      case 'agent': {
        const obj = this.d.agents.get(`${namespace}/${intent.agent}`);
        if (!obj || obj.metadata.deletionTimestamp) return;
        const desired = agentSpec(obj).desiredState ?? 'Active';
        let body: Record<string, unknown>;
        if (intent.action === 'restart') body = { metadata: { annotations: { [RESTART_ANNOTATION]: rfc3339(now) } } };
        else {
          const want = intent.action === 'wake' ? 'Active' : 'Sleeping';
          if (desired === want) return;
          body = { spec: { desiredState: want } };
        }
        const written = await this.d.client.request<KubeObject>('PATCH', objectPath(Agents, namespace, intent.agent), {
          body,
          contentType: 'application/merge-patch+json',
          signal,
        });
        expect('Agent', obj, written);
        void this.d.events.record(
          obj,
          'Normal',
          intent.reason,
          intent.action === 'restart' ? 'Restart' : intent.action === 'wake' ? 'Wake' : 'Sleep',
          `${intent.message} (plugin ${plugin})`,
        );
        return;
      }
      case 'annotate': {
        const obj = this.d.tasks.get(`${namespace}/${intent.task}`);
        if (!obj) return;
        const changes = (
          have: Readonly<Record<string, string>> | undefined,
          want: Readonly<Record<string, string | null>> | undefined,
        ): boolean => Object.entries(want ?? {}).some(([k, v]) => (have?.[k] ?? null) !== v);
        if (!changes(obj.metadata.annotations, intent.annotations) && !changes(obj.metadata.labels, intent.labels)) return;
        const written = await this.d.client.request<KubeObject>('PATCH', objectPath(Tasks, namespace, intent.task), {
          body: {
            metadata: {
              ...(intent.annotations ? { annotations: intent.annotations } : {}),
              ...(intent.labels ? { labels: intent.labels } : {}),
            },
          },
          contentType: 'application/merge-patch+json',
          signal,
        });
        expect('Task', obj, written);
        return;
      }
      default:
        return;
    }
  }

  private metric(
    namespace: string,
    plugin: string,
    intent: Extract<Intent, { kind: 'metric' }>,
    seen: Map<string, Set<string>>,
    now: number,
  ): void {
    const name = `agent_orchestrator_${intent.name}`;
    let entry = this.gauges.get(name);
    if (entry === undefined) {
      if (this.d.metrics.getSingleMetric(name)) {
        this.failed(namespace, plugin, now, `metric ${name} is taken by the operator: choose another name`);
        return;
      }
      const labelNames = ['namespace', ...Object.keys(intent.labels ?? {}).sort()];
      entry = { gauge: new Gauge({ name, help: intent.help, labelNames, registers: [this.d.metrics] }), plugin };
      this.gauges.set(name, entry);
    }
    if (entry.plugin !== plugin) {
      this.failed(namespace, plugin, now, `metric ${name} belongs to plugin ${entry.plugin}: choose another name`);
      return;
    }
    const labels = { namespace, ...(intent.labels ?? {}) };
    entry.gauge.set(labels, intent.value);
    const key = `${name}\u0000${namespace}`;
    let set = seen.get(key);
    if (set === undefined) seen.set(key, (set = new Set()));
    set.add(JSON.stringify(labels));
  }

  /** A series a plugin did not set on this tick (its agent is gone) stops being exported. */
  private dropStaleSeries(namespace: string, plugins: readonly Named[], seen: Map<string, Set<string>>): void {
    const ticked = new Set(plugins.map((p) => p.name));
    for (const [name, { gauge, plugin }] of this.gauges) {
      if (!ticked.has(plugin)) continue;
      const key = `${name}\u0000${namespace}`;
      const now = seen.get(key) ?? new Set<string>();
      for (const labels of this.series.get(key) ?? []) if (!now.has(labels)) gauge.remove(JSON.parse(labels) as Record<string, string>);
      this.series.set(key, now);
    }
  }
}
