// Lifecycle extension points: pure functions of a namespace's typed snapshot that return
// intents. One host in controllers/plugins/ carries the intents out through the writers
// and the event recorder, with expectations, so a plugin does no I/O of its own and an
// operator restart loses nothing (every intent is derived again from the API server).
import type { Agent } from '../api/agent.ts';
import type { OrchestratorPolicy } from '../api/policy.ts';
import type { Task } from '../api/task.ts';

/** An Agent or Task as the API server holds it, parsed once per resourceVersion. */
export type AgentObject = Omit<Agent, 'metadata'> & { readonly metadata: ObjectMeta };
export type TaskObject = Omit<Task, 'metadata'> & { readonly metadata: ObjectMeta };
export type PolicyObject = Omit<OrchestratorPolicy, 'metadata'> & { readonly metadata: ObjectMeta };

export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion?: string | undefined;
  readonly generation?: number | undefined;
  readonly creationTimestamp?: string | undefined;
  readonly deletionTimestamp?: string | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
}

/** One namespace at one instant: what onTick sees. */
export interface NamespaceSnapshot {
  readonly now: number;
  readonly namespace: string;
  /** The policy that governs the namespace, when there is one. */
  readonly policy?: PolicyObject | undefined;
  readonly agents: readonly AgentObject[];
  readonly tasks: readonly TaskObject[];
}

/** What an intent is about: an object of the namespace, by kind and name. */
export interface Target {
  readonly kind: 'Agent' | 'Task' | 'OrchestratorPolicy';
  readonly name: string;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** Something a lifecycle plugin wants done; the host does it, once, and only when it changes something. */
export type Intent =
  /**
   * Set a status condition. With `since` the condition's lastTransitionTime is exactly
   * that instant (a plugin that keeps its memory in the condition, as the circuit breaker
   * does); without, it moves only when the status changes.
   */
  | {
      readonly kind: 'condition';
      readonly target: Target;
      readonly condition: { readonly type: string; readonly status: ConditionStatus; readonly reason: string; readonly message: string };
      readonly since?: number;
    }
  /** Record a Kubernetes Event on the target (the host rate-limits and aggregates them). */
  | {
      readonly kind: 'event';
      readonly target: Target;
      readonly type: 'Normal' | 'Warning';
      readonly reason: string;
      readonly message: string;
    }
  /**
   * Act on an agent: sleep (spec.desiredState Sleeping), wake (Active), drain (sleep, but
   * running tasks finish first: the same as sleep), restart (its workload is started
   * again, as `kubectl rollout restart` does). `reason` is a CamelCase word for the Event.
   */
  | {
      readonly kind: 'agent';
      readonly agent: string;
      readonly action: 'sleep' | 'wake' | 'drain' | 'restart';
      readonly reason: string;
      readonly message: string;
    }
  /** Set (a string) or remove (null) annotations and labels on a task. */
  | {
      readonly kind: 'annotate';
      readonly task: string;
      readonly annotations?: Readonly<Record<string, string | null>>;
      readonly labels?: Readonly<Record<string, string | null>>;
    }
  /** Set a gauge agent_orchestrator_plugin_<name>{namespace, plugin, ...labels}. */
  | {
      readonly kind: 'metric';
      readonly name: string;
      readonly help: string;
      readonly labels?: Readonly<Record<string, string>>;
      readonly value: number;
    }
  /**
   * Bounds for an autoscaling pool of the policy while they hold: the autoscaler keeps
   * between `minAwake` and `maxAwake` agents awake, and reports `reason`.
   */
  | { readonly kind: 'pool'; readonly pool: string; readonly minAwake?: number; readonly maxAwake?: number; readonly reason: string }
  /** Look at the namespace again after this long, even if nothing changes (a cooldown ending). */
  | { readonly kind: 'requeue'; readonly afterMs: number }
  /**
   * Deliver a webhook (a pre-assignment gate asked on every tick until it is answered):
   * the host's client drops one whose event id is queued, in flight or just answered.
   */
  | { readonly kind: 'hook'; readonly hook: Hook };

/** Where an event happened, for the points that see one object rather than the namespace. */
export interface EventContext {
  readonly now: number;
  readonly namespace: string;
}

/** What a plugin says about an agent after one of its tasks ended. */
export type AgentVerdict = readonly Intent[];

/** An attempt that ended: the task, its agent (if still there), and the history entry. */
export interface TaskOutcome {
  readonly task: TaskObject;
  readonly agent?: AgentObject | undefined;
  readonly entry: NonNullable<NonNullable<Task['status']>['history']>[number];
}

/** A CloudEvents 1.0 event in structured mode (https://cloudevents.io). */
export interface CloudEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject?: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly data: unknown;
}

/** One webhook delivery: the host's client owns timeouts, retries and the failure policy. */
export interface Hook {
  /** The endpoint's name in the plugin's config, for status and metrics. */
  readonly endpoint: string;
  readonly url: string;
  readonly event: CloudEvent;
  /** Secret (in the namespace) holding the HMAC-SHA256 key: the body is signed with it. */
  readonly signingSecret?: { readonly name: string; readonly key: string } | undefined;
  readonly timeoutMs: number;
  /** Further attempts after the first fails, with backoff doubling from backoffMs. */
  readonly retries: number;
  readonly backoffMs: number;
  /** After the last retry: Ignore goes on; Fail (gates only) denies the task. */
  readonly failurePolicy: 'Ignore' | 'Fail';
  /**
   * What is POSTed: the CloudEvent in structured mode (the default), or its `data` alone as
   * application/json, for a receiver with a format of its own (an Alertmanager webhook
   * receiver). Signed the same way either way.
   */
  readonly body?: 'cloudevent' | 'data' | undefined;
  /**
   * A pre-assignment gate: the receiver's answer ({allow, message?, labels?, inputPrefix?})
   * is written on the task in these annotations with one merge patch, where the plugin's
   * Permit reads it: `verdict` is allow, deny, or error (delivery failed and the
   * failurePolicy is Fail), `generation` the task generation it holds for. Nothing is
   * written when the task's generation moved on or it left Pending meanwhile. On allow,
   * `labels` are set on the task and `inputPrefix` is put before its spec.input.
   */
  readonly gate?:
    | {
        readonly task: string;
        /** The task's metadata.generation when it was asked. */
        readonly generation: number;
        readonly annotations: {
          readonly verdict: string;
          readonly message: string;
          readonly generation: string;
          readonly answeredAt: string;
        };
      }
    | undefined;
}

export interface LifecyclePlugin {
  /** The namespace, on every change and at least every resync: level-based, like a reconcile. */
  onTick?(snapshot: NamespaceSnapshot): readonly Intent[];
  /** An attempt ended (its history entry appeared). */
  onTaskOutcome?(outcome: TaskOutcome, context: EventContext): AgentVerdict;
  /** A task changed phase; `from` is undefined for a task seen for the first time. */
  onPhase?(task: TaskObject, from: string | undefined, to: string, context: EventContext): readonly Hook[];
  /** An agent changed phase. */
  onAgentPhase?(agent: AgentObject, from: string | undefined, to: string, context: EventContext): readonly Hook[];
}
