// The pre-assignment gate: the question is asked on every tick for each waiting task that
// has no answer for its current generation (the host's client drops repeats while one is
// on its way), the host writes the answer in the task's annotations, and Permit reads it.
import {
  success,
  unschedulable,
  wait,
  type AdmissionRule,
  type Intent,
  type NamespaceSnapshot,
  type Status,
  type TaskInfo,
  type TaskObject,
} from '../../operator/src/framework/index.ts';
import type { EndpointConfig, HooksConfig } from './config.ts';
import { gateEvent, hookFor } from './events.ts';

const PREFIX = 'hooks.agents.orchestrator.dev';

/** Where the host writes the receiver's answer on the task. */
export const ANNOTATIONS = {
  /** allow, deny, or error (the endpoint could not be reached and its failurePolicy is Fail). */
  verdict: `${PREFIX}/verdict`,
  /** The receiver's message, or why the delivery failed. */
  message: `${PREFIX}/message`,
  /** The task's metadata.generation the answer holds for: a change of spec asks again. */
  generation: `${PREFIX}/generation`,
  /** When the answer was written (RFC 3339). */
  answeredAt: `${PREFIX}/answered-at`,
} as const;

/**
 * Admission: only the operator writes an answer. Anyone else may leave the annotations as
 * they are, or remove them (to ask again), but not set or change one: a user who can
 * patch a Task could otherwise approve it themselves.
 */
export const verdictAdmission: AdmissionRule = {
  resource: 'tasks',
  expression: `request.userInfo.username == variables.operator || [${Object.values(ANNOTATIONS)
    .map((a) => `'${a}'`)
    .join(
      ', ',
    )}].all(k, !has(object.metadata.annotations) || !(k in object.metadata.annotations) || (oldObject != null && has(oldObject.metadata.annotations) && k in oldObject.metadata.annotations && oldObject.metadata.annotations[k] == object.metadata.annotations[k]))`,
  message: `the ${PREFIX}/ annotations hold the pre-assignment hook's answer and only the operator writes them: remove them from your change (deleting them asks the hook again)`,
  reason: 'Forbidden',
};

export type Verdict = 'allow' | 'deny' | 'error';

export interface Answer {
  readonly verdict: Verdict;
  readonly message: string;
  readonly answeredAt?: number | undefined;
}

const VERDICTS: ReadonlySet<string> = new Set(['allow', 'deny', 'error']);

/** The answer for this generation of the task, if there is one. */
export function answerOf(annotations: Readonly<Record<string, string>> | undefined, generation: number | undefined): Answer | undefined {
  const verdict = annotations?.[ANNOTATIONS.verdict];
  if (verdict === undefined || !VERDICTS.has(verdict)) return undefined;
  if (annotations?.[ANNOTATIONS.generation] !== String(generation ?? 0)) return undefined;
  const at = Date.parse(annotations[ANNOTATIONS.answeredAt] ?? '');
  return { verdict: verdict as Verdict, message: annotations[ANNOTATIONS.message] ?? '', answeredAt: Number.isNaN(at) ? undefined : at };
}

/** Permit: no answer yet waits; a denial (or a failed delivery under Fail) keeps the task queued with the reason. */
export function permitGate(task: TaskInfo, endpoint: string): Status {
  const answer = answerOf(task.annotations, task.generation);
  if (answer === undefined) return wait(`waiting for pre-assignment hook ${endpoint}`);
  if (answer.verdict === 'allow') return success;
  return unschedulable(`vetoed by hook ${endpoint}: ${answer.message || 'no reason given'}`);
}

/** A task the router would place: Pending, or new without dependencies; not cancelled or going. */
function waiting(task: TaskObject): boolean {
  if (task.metadata.deletionTimestamp !== undefined || task.spec.cancel) return false;
  const phase = task.status?.phase;
  return phase === 'Pending' || (phase === undefined && (task.spec.dependsOn ?? []).length === 0);
}

/**
 * onTick: the question for each waiting task without an answer for its generation, and
 * again for one whose delivery failed (verdict error) once retryFailedSeconds passed.
 */
export function gateIntents(snapshot: NamespaceSnapshot, config: HooksConfig): Intent[] {
  const gate = config.preAssignment;
  const endpoint = config.endpoints.find((e) => e.name === gate?.endpoint);
  if (gate === undefined || endpoint === undefined) return [];
  const retryMs = gate.retryFailedSeconds * 1000;
  const intents: Intent[] = [];
  let nextRetry: number | undefined;
  for (const task of snapshot.tasks) {
    if (!waiting(task)) continue;
    const answer = answerOf(task.metadata.annotations, task.metadata.generation);
    if (answer?.verdict === 'error') {
      const due = (answer.answeredAt ?? 0) + retryMs;
      if (due > snapshot.now) {
        nextRetry = Math.min(nextRetry ?? Infinity, due - snapshot.now);
        continue;
      }
    } else if (answer !== undefined) continue;
    intents.push({ kind: 'hook', hook: gateHook(task, endpoint, snapshot.now) });
  }
  if (nextRetry !== undefined) intents.push({ kind: 'requeue', afterMs: nextRetry });
  return intents;
}

export function gateHook(task: TaskObject, endpoint: EndpointConfig, now: number): ReturnType<typeof hookFor> {
  return hookFor(endpoint, gateEvent(task, now), {
    task: task.metadata.name,
    generation: task.metadata.generation ?? 0,
    annotations: ANNOTATIONS,
  });
}
