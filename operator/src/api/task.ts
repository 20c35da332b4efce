import { z } from 'zod';
import { capability, conditions, dnsLabel, nonNegative, objectName, observedGeneration, timestamp, tokenCounts } from './common.ts';
import { asSet, withRules } from './validation.ts';

export const taskSpec = z
  .strictObject({
    requiredCapabilities: asSet(z.array(capability).max(32))
      .default([])
      .describe('Capabilities an agent must have, all of them, to run this task. Immutable once assigned.'),
    preferredCapabilities: asSet(z.array(capability).max(32))
      .optional()
      .describe('Capabilities that make an agent a better fit; scored, not required.'),
    priority: z
      .int()
      .min(0)
      .max(1000)
      .default(100)
      .describe('Higher runs first (0-1000). Waiting tasks age upward so low priority never starves.'),
    input: z.string().max(262144).optional().describe('Input for the agent, such as a prompt or a command line.'),
    payload: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ 'x-kubernetes-preserve-unknown-fields': true })
      .describe('Free-form structured input for the agent; kept as written.'),
    timeoutSeconds: z
      .int()
      .min(1)
      .max(604800)
      .default(3600)
      .describe('An attempt that runs longer than this fails with reason TimedOut (at most 7 days).'),
    retries: z
      .strictObject({
        max: z.int().min(0).max(100).optional().describe('Further attempts after the first fails; the policy’s default when unset.'),
        backoffSeconds: z
          .int()
          .min(0)
          .max(86400)
          .optional()
          .describe('Wait before a retry, doubled on each attempt; the policy’s default when unset.'),
      })
      .optional()
      .describe('Retry behaviour; unset fields take the namespace policy’s spec.retries.'),
    dependsOn: asSet(z.array(objectName('a Task')).max(64))
      .optional()
      .describe('Tasks in this namespace that must succeed before this one is queued (a workflow DAG).'),
    cancel: z
      .boolean()
      .default(false)
      .describe('Set true to cancel: a waiting task is not started, a running attempt is stopped; the phase becomes Cancelled.'),
    estimatedTokens: z
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .describe(
        'Tokens the task is expected to add to an agent’s context window: routing prefers agents with that much room (the context plugin).',
      ),
    affinity: z
      .strictObject({
        agent: dnsLabel('affinity.agent').optional().describe('Pin the task to this Agent.'),
        contextKey: z
          .string()
          .min(1)
          .max(253)
          .optional()
          .describe('Tasks with the same key go to the agent that already holds that context (a conversation).'),
      })
      .optional()
      .describe('Where the task should run.'),
  })
  .describe('The desired state of a Task.');

export const taskPhases = ['Pending', 'Blocked', 'Assigned', 'Running', 'Succeeded', 'Failed', 'Cancelled'] as const;
export const attemptOutcomes = ['Succeeded', 'Failed', 'TimedOut', 'Lost', 'Cancelled'] as const;

export const taskStatus = z
  .object({
    phase: z.enum(taskPhases).optional().describe('Where the task is in its lifecycle.'),
    assignment: z
      .object({
        agent: dnsLabel('assignment.agent').describe('The Agent running this attempt.'),
        attempt: z.int().min(1).max(1000).describe('The attempt number; the runner may only write the attempt it holds.'),
        assignedAt: timestamp.describe('When the task was assigned.'),
        claimedBy: z
          .string()
          .max(253)
          .optional()
          .describe(
            'The runner process that started this attempt (its heartbeat Lease holder identity, <agent>_<boot id>); an attempt claimed by an earlier process of the agent is handed back.',
          ),
      })
      .optional()
      .describe(
        "The current assignment (list an agent's tasks with the field selector status.assignment.agent=<agent>); the agent's own Role names the task while it is assigned, and its runner reads it by that name.",
      ),
    attempts: nonNegative(1000).optional().describe('Attempts started so far.'),
    queuedAt: timestamp.optional().describe('When the task last became ready to run (created, unblocked or handed back).'),
    retryAt: timestamp.optional().describe('A task backing off after a failed or lost attempt is not routed before this.'),
    startedAt: timestamp.optional().describe('When the current attempt started running (set by the agent runner).'),
    completedAt: timestamp.optional().describe('When the task reached Succeeded, Failed or Cancelled.'),
    history: z
      .array(
        z.object({
          agent: dnsLabel('history.agent').describe('The Agent that ran the attempt.'),
          outcome: z.enum(attemptOutcomes).describe('How the attempt ended.'),
          reason: z.string().max(1024).optional().describe('Why, in a few words.'),
          time: timestamp.describe('When the attempt ended.'),
        }),
      )
      .max(32)
      .optional()
      .describe('Past attempts, oldest first (the last 32).'),
    result: z
      .object({
        output: z.string().max(65536).optional().describe('Output of the task (truncated to 64 KiB).'),
        exitCode: z.int().min(-1024).max(1024).optional().describe('Exit code of a command executor.'),
      })
      .optional()
      .describe('The result of the successful (or last) attempt.'),
    usage: tokenCounts
      .extend({
        model: z.string().max(253).optional().describe('The model the last attempt reported: the key of the policy’s price table.'),
        durationMs: nonNegative(Number.MAX_SAFE_INTEGER)
          .default(0)
          .describe('Time the attempts ran, in milliseconds, as the runner measured it.'),
        cost: z
          .number()
          .min(0)
          .max(1e12)
          .optional()
          .describe(
            'What the tokens cost, from the policy’s spec.accounting.prices for the model, in its currency; set when the task ends.',
          ),
        currency: z.string().max(16).optional().describe('The currency of cost (the policy’s spec.accounting.currency).'),
      })
      .optional()
      .describe('Tokens and time all attempts used (each attempt’s runner adds its own), and their cost once the task ended.'),
    progress: z
      .object({
        lines: z.array(z.string().max(512)).max(20).describe('The last lines the running attempt wrote, oldest first.'),
        updatedAt: timestamp.describe('When the runner last wrote them.'),
      })
      .optional()
      .describe(
        'What the running attempt is doing: its last output lines, written by the runner at most every RUNNER_PROGRESS_SECONDS (10).',
      ),
    conditions: conditions.optional(),
    observedGeneration: observedGeneration.optional(),
  })
  .describe('The observed state of a Task.');

export const task = withRules(
  z.object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({ name: objectName('a Task').optional() })
      .loose()
      .optional(),
    spec: taskSpec,
    status: taskStatus.optional(),
  }),
  [
    {
      rule: '!has(self.spec.dependsOn) || !(self.metadata.name in self.spec.dependsOn)',
      message: 'a Task cannot depend on itself: remove its own name from spec.dependsOn',
      fieldPath: '.spec.dependsOn',
      holds: (t) => t.metadata?.name === undefined || !(t.spec.dependsOn ?? []).includes(t.metadata.name),
    },
    {
      rule: '!has(oldSelf.status) || !has(oldSelf.status.assignment) || self.spec.requiredCapabilities == oldSelf.spec.requiredCapabilities',
      message: 'spec.requiredCapabilities is immutable once the task is assigned: create a new Task with the capabilities you need',
      fieldPath: '.spec.requiredCapabilities',
    },
  ],
);

export type TaskSpec = z.infer<typeof taskSpec>;
export type TaskStatus = z.infer<typeof taskStatus>;
export type Task = z.infer<typeof task>;
