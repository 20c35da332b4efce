import { z } from 'zod';
import { taskKind } from '../../api/kinds.ts';
import type { Hook } from '../../framework/lifecycle.ts';
import { isConflict, isNotFound } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import { rfc3339 } from '../conditions.ts';
import { taskSpec, taskStatus } from '../resources.ts';

const Tasks = resourceOfKind(taskKind);
const MAX_MESSAGE = 1024;
const MAX_INPUT = 262_144;
const CONFLICT_RETRIES = 3;

const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a receiver may not set this label key: invalid, or in the operator's own domain (pool and policy labels steer agents; the domain is reserved). */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (
    name.length === 0 ||
    name.length > 63 ||
    !LABEL_NAME.test(name) ||
    (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
  ) {
    return 'not a valid label key';
  }
  if (prefix !== undefined && (prefix === 'orchestrator.dev' || prefix.endsWith('.orchestrator.dev'))) {
    return `label ${key} is in the operator's own domain: a hook may not set it`;
  }
  return undefined;
}
const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, { message: 'not a valid label value' });

/** What a pre-assignment receiver answers (other fields are ignored). */
export const gateAnswer = z.object({
  allow: z.boolean(),
  message: z.string().max(65_536).optional(),
  labels: z
    .record(z.string(), labelValue)
    .superRefine((labels, ctx) => {
      for (const key of Object.keys(labels)) {
        const problem = labelKeyProblem(key);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: problem });
      }
    })
    .optional(),
  inputPrefix: z.string().max(MAX_INPUT).optional(),
});
export type GateAnswer = z.infer<typeof gateAnswer>;

/** Parses a receiver's body; an error in words when it is not an answer. */
export function parseGateAnswer(body: string): GateAnswer | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { error: `the answer is not JSON: ${body.slice(0, 80)}` };
  }
  const parsed = gateAnswer.safeParse(json);
  if (parsed.success) return parsed.data;
  const why = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(answer)'}: ${i.message}`).join('; ');
  return { error: `the answer is not {allow: boolean, message?, labels?, inputPrefix?}: ${why}` };
}

export type Verdict = { verdict: 'allow' | 'deny' | 'error'; message: string; labels?: Record<string, string>; inputPrefix?: string };

export type Written = 'written' | 'moved' | 'gone';

const truncate = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * Writes a gate's answer on the task with one merge patch that carries the resourceVersion
 * it read: the verdict annotations and, on allow, the labels and the input prefix. Nothing
 * is written when the task's generation moved on from the one asked about (its next
 * generation is asked instead), when it left Pending, or when it already holds an answer
 * for its generation. A prefix changes the spec, so the generation recorded is the one
 * the patch makes; should the server count otherwise, a second patch corrects it.
 */
export async function writeVerdict(
  client: RestClient,
  namespace: string,
  gate: NonNullable<Hook['gate']>,
  verdict: Verdict,
  now: number,
  signal?: AbortSignal,
): Promise<Written> {
  const path = objectPath(Tasks, namespace, gate.task);
  const names = gate.annotations;
  for (let attempt = 0; ; attempt++) {
    let task: KubeObject;
    try {
      task = await client.request<KubeObject>('GET', path, signal ? { signal } : {});
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      throw err;
    }
    const generation = task.metadata.generation ?? 0;
    const phase = taskStatus(task).phase;
    const annotations = task.metadata.annotations ?? {};
    if (task.metadata.deletionTimestamp || generation !== gate.generation || (phase !== undefined && phase !== 'Pending')) return 'moved';
    const held = annotations[names.verdict];
    if (held !== undefined && held !== 'error' && annotations[names.generation] === String(generation)) return 'moved';

    const allow = verdict.verdict === 'allow';
    const input = taskSpec(task).input ?? '';
    const prefix = allow && verdict.inputPrefix ? verdict.inputPrefix : '';
    if (prefix.length + input.length > MAX_INPUT) {
      verdict = { verdict: 'error', message: `the answer's inputPrefix would make spec.input longer than ${MAX_INPUT} characters` };
      continue;
    }
    const recorded = prefix ? generation + 1 : generation;
    const labels = allow ? verdict.labels : undefined;
    const body = {
      metadata: {
        resourceVersion: task.metadata.resourceVersion,
        annotations: {
          [names.verdict]: verdict.verdict,
          [names.message]: truncate(verdict.message, MAX_MESSAGE),
          [names.generation]: String(recorded),
          [names.answeredAt]: rfc3339(now),
        },
        ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
      },
      ...(prefix ? { spec: { input: prefix + input } } : {}),
    };
    try {
      const written = await client.request<KubeObject>('PATCH', path, {
        body,
        contentType: 'application/merge-patch+json',
        ...(signal ? { signal } : {}),
      });
      const actual = written.metadata.generation ?? 0;
      if (actual !== recorded) {
        await client.request('PATCH', path, {
          body: { metadata: { annotations: { [names.generation]: String(actual) } } },
          contentType: 'application/merge-patch+json',
          ...(signal ? { signal } : {}),
        });
      }
      return 'written';
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      if (!isConflict(err) || attempt + 1 >= CONFLICT_RETRIES) throw err;
    }
  }
}
