// CloudEvents for task and agent phases, and the pre-assignment question: pure functions
// of the typed object, so the same state always gives the same event (and the same id,
// which receivers dedupe retries and replays by).
import { API_VERSION } from '../../operator/src/api/common.ts';
import type { AgentObject, CloudEvent, Hook, TaskObject } from '../../operator/src/framework/index.ts';
import type { EndpointConfig } from './config.ts';

/** A phase entered longer ago than this is not sent again when the operator starts. */
export const REPLAY_WINDOW_MS = 10 * 60_000;
export const EVENT_TYPE_PREFIX = 'dev.orchestrator';
export const GATE_EVENT_TYPE = `${EVENT_TYPE_PREFIX}.task.preassignment`;

const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
};
const latest = (...times: (string | undefined)[]): number | undefined => {
  const all = times.map(ms).filter((t): t is number => t !== undefined);
  return all.length > 0 ? Math.max(...all) : undefined;
};
const rfc3339 = (t: number): string => new Date(t).toISOString();

const sourceOf = (kind: 'tasks' | 'agents', namespace: string, name: string): string =>
  `/apis/${API_VERSION}/namespaces/${namespace}/${kind}/${name}`;

/** When the task entered `phase`, from its status timestamps (undefined when none says). */
export function taskPhaseTime(task: TaskObject, phase: string): number | undefined {
  const s = task.status;
  const lastAttemptEnd = s?.history?.at(-1)?.time;
  switch (phase) {
    case 'Pending':
      return latest(s?.queuedAt ?? task.metadata.creationTimestamp, lastAttemptEnd);
    case 'Blocked':
      return latest(s?.conditions?.find((c) => c.type === 'Scheduled')?.lastTransitionTime, task.metadata.creationTimestamp);
    case 'Assigned':
      return ms(s?.assignment?.assignedAt);
    case 'Running':
      return ms(s?.startedAt);
    default:
      return TERMINAL.has(phase) ? latest(s?.completedAt, lastAttemptEnd) : undefined;
  }
}

/** The task's last change of phase as far as its status tells: the phase's own time, else its latest timestamp. */
export function taskLastTransition(task: TaskObject, phase: string): number | undefined {
  const s = task.status;
  return (
    taskPhaseTime(task, phase) ??
    latest(
      task.metadata.creationTimestamp,
      s?.queuedAt,
      s?.assignment?.assignedAt,
      s?.startedAt,
      s?.completedAt,
      ...(s?.history ?? []).map((h) => h.time),
      ...(s?.conditions ?? []).map((c) => c.lastTransitionTime),
    )
  );
}

/** The agent's last change as far as its status tells (a Busy-Ready swing leaves no timestamp). */
export function agentLastTransition(agent: AgentObject): number | undefined {
  const s = agent.status;
  return latest(
    agent.metadata.creationTimestamp,
    s?.workload?.startedAt,
    s?.drainingSince,
    s?.stats?.lastFailureTime,
    ...(s?.conditions ?? []).map((c) => c.lastTransitionTime),
  );
}

/** A phase seen for the first time (the operator's first list) is sent only when it is recent. */
export function isRecent(at: number | undefined, now: number): boolean {
  return at !== undefined && now - at < REPLAY_WINDOW_MS;
}

/** Why the task is where it is, in a few words (undefined when nothing says). */
function taskReason(task: TaskObject, phase: string): string | undefined {
  const s = task.status;
  const condition = (type: string): { status: string; message: string } | undefined => s?.conditions?.find((c) => c.type === type);
  if (TERMINAL.has(phase)) return condition('Finished')?.message ?? s?.history?.at(-1)?.reason;
  if (phase === 'Pending' && (s?.history?.length ?? 0) > 0) return s?.history?.at(-1)?.reason;
  if (phase === 'Pending' || phase === 'Blocked') {
    const scheduled = condition('Scheduled');
    return scheduled?.status === 'False' ? scheduled.message : undefined;
  }
  return undefined;
}

/** What a receiver learns of a task: small, and free of its input and output. */
export function taskData(task: TaskObject, phase: string, from: string | undefined): Record<string, unknown> {
  const s = task.status;
  const reason = taskReason(task, phase);
  const exitCode = TERMINAL.has(phase) ? s?.result?.exitCode : undefined;
  const agent = phase === 'Pending' || phase === 'Blocked' ? undefined : s?.assignment?.agent;
  return {
    name: task.metadata.name,
    namespace: task.metadata.namespace,
    uid: task.metadata.uid,
    phase,
    ...(from !== undefined ? { previousPhase: from } : {}),
    attempt: s?.attempts ?? 0,
    ...(agent !== undefined ? { agent } : {}),
    ...(exitCode !== undefined ? { result: { exitCode } } : {}),
    ...(reason !== undefined ? { reason } : {}),
  };
}

/**
 * The event for a task entering `phase`. Its id, `<uid>.<phase>.<attempts>`, is the same
 * for every delivery of that transition: retries, and the replay after a restart.
 */
export function taskEvent(task: TaskObject, phase: string, from: string | undefined, now: number): CloudEvent {
  const { name, namespace, uid } = task.metadata;
  const lower = phase.toLowerCase();
  return {
    specversion: '1.0',
    id: `${uid}.${lower}.${task.status?.attempts ?? 0}`,
    source: sourceOf('tasks', namespace, name),
    type: `${EVENT_TYPE_PREFIX}.task.${lower}`,
    subject: name,
    time: rfc3339(taskPhaseTime(task, phase) ?? now),
    datacontenttype: 'application/json',
    data: taskData(task, phase, from),
  };
}

/**
 * The event for an agent entering `phase`. Agents swing between Ready and Busy with no
 * counter of their own, so the id counts what moves with each swing: the workload's
 * start (seconds) and the tasks it has finished, `<uid>.<phase>.<start>.<finished>`.
 */
export function agentEvent(agent: AgentObject, phase: string, from: string | undefined, now: number): CloudEvent {
  const { name, namespace, uid } = agent.metadata;
  const s = agent.status;
  const lower = phase.toLowerCase();
  const started = Math.floor((ms(s?.workload?.startedAt) ?? 0) / 1000);
  const finished = (s?.stats?.succeeded ?? 0) + (s?.stats?.failed ?? 0);
  const ready = s?.conditions?.find((c) => c.type === 'Ready');
  return {
    specversion: '1.0',
    id: `${uid}.${lower}.${started}.${finished}`,
    source: sourceOf('agents', namespace, name),
    type: `${EVENT_TYPE_PREFIX}.agent.${lower}`,
    subject: name,
    time: rfc3339(now),
    datacontenttype: 'application/json',
    data: {
      name,
      namespace,
      uid,
      phase,
      ...(from !== undefined ? { previousPhase: from } : {}),
      activeTasks: s?.activeTasks ?? 0,
      capabilities: agent.spec.capabilities,
      ...(ready?.status === 'False' ? { reason: ready.message } : {}),
    },
  };
}

/**
 * The pre-assignment question for one generation of a task's spec, with what will run:
 * its id `<uid>.preassignment.<generation>` is asked again only when the spec changes.
 */
export function gateEvent(task: TaskObject, now: number): CloudEvent {
  const { name, namespace, uid, generation = 0, labels } = task.metadata;
  const spec = task.spec;
  return {
    specversion: '1.0',
    id: `${uid}.preassignment.${generation}`,
    source: sourceOf('tasks', namespace, name),
    type: GATE_EVENT_TYPE,
    subject: name,
    time: rfc3339(now),
    datacontenttype: 'application/json',
    data: {
      ...taskData(task, 'Pending', undefined),
      generation,
      ...(labels ? { labels } : {}),
      spec: {
        requiredCapabilities: spec.requiredCapabilities,
        ...(spec.preferredCapabilities ? { preferredCapabilities: spec.preferredCapabilities } : {}),
        priority: spec.priority,
        ...(spec.input !== undefined ? { input: spec.input } : {}),
        ...(spec.payload !== undefined ? { payload: spec.payload } : {}),
      },
    },
  };
}

/** Does the endpoint subscribe to this kind's phase? */
export function subscribes(endpoint: EndpointConfig, kind: 'task' | 'agent', phase: string): boolean {
  return endpoint.events.some((e) => e === `${kind}.*` || e === `${kind}.${phase}`);
}

/** A delivery of `event` to the endpoint, with its delivery settings. */
export function hookFor(endpoint: EndpointConfig, event: CloudEvent, gate?: Hook['gate']): Hook {
  return {
    endpoint: endpoint.name,
    url: endpoint.url,
    event,
    ...(endpoint.signingSecret ? { signingSecret: endpoint.signingSecret } : {}),
    timeoutMs: endpoint.timeoutSeconds * 1000,
    retries: endpoint.retries,
    backoffMs: endpoint.backoffSeconds * 1000,
    failurePolicy: endpoint.failurePolicy,
    ...(gate ? { gate } : {}),
  };
}
