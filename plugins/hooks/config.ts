import { z } from 'zod';
import { agentPhases } from '../../operator/src/api/agent.ts';
import { taskPhases } from '../../operator/src/api/task.ts';

/** What an endpoint may subscribe to: a task or agent phase, or all of a kind's. */
export const EVENT_NAMES = ['task.*', ...taskPhases.map((p) => `task.${p}`), 'agent.*', ...agentPhases.map((p) => `agent.${p}`)] as const;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const endpointName = z.string().max(63).regex(DNS_LABEL, { message: "an endpoint name is lowercase letters, digits and '-' (at most 63)" });

export const endpointConfig = z
  .strictObject({
    name: endpointName.describe('Names the endpoint in status, metrics and preAssignment.endpoint.'),
    url: z
      .url({ protocol: /^https?$/, hostname: z.regexes.hostname, error: 'must be an http:// or https:// URL' })
      .max(2048)
      .describe('Where CloudEvents are POSTed.'),
    events: z
      .array(z.enum(EVENT_NAMES, { error: `must be one of ${EVENT_NAMES.join(', ')}` }))
      .max(32)
      .default([])
      .describe('Phases to send, such as task.Succeeded, task.* or agent.Ready; none for an endpoint that only answers preAssignment.'),
    signingSecret: z
      .strictObject({
        name: z
          .string()
          .max(253)
          .regex(DNS_SUBDOMAIN, { message: 'must be the name of a Secret in the policy’s namespace' })
          .describe('The Secret.'),
        key: z
          .string()
          .min(1)
          .max(253)
          .regex(/^[-._a-zA-Z0-9]+$/, { message: "a Secret key is letters, digits, '-', '_' and '.'" })
          .describe('The key of its data holding the HMAC key.'),
      })
      .optional()
      .describe('Sign each body with HMAC-SHA256 under this key (header X-Agent-Orchestrator-Signature: sha256=<hex>).'),
    timeoutSeconds: z.int().min(1).max(60).default(5).describe('Seconds one request may take.'),
    retries: z.int().min(0).max(10).default(3).describe('Further attempts after a failed one.'),
    backoffSeconds: z.int().min(0).max(300).default(1).describe('Wait before the first retry, doubled after each.'),
    failurePolicy: z
      .enum(['Ignore', 'Fail'])
      .default('Ignore')
      .describe('When the last attempt fails: Ignore goes on (a gate allows); Fail makes a gate deny (events are dropped either way).'),
  })
  .describe('One webhook receiver.');

export const hooksConfig = z
  .strictObject({
    endpoints: z.array(endpointConfig).max(16).default([]).describe('Webhook receivers, each with the events it gets.'),
    preAssignment: z
      .strictObject({
        endpoint: endpointName.describe('The endpoint asked, by name.'),
        retryFailedSeconds: z
          .int()
          .min(10)
          .max(86400)
          .default(60)
          .describe('A task denied because the endpoint could not be reached (failurePolicy Fail) is asked again after this long.'),
      })
      .optional()
      .describe('Ask an endpoint before a task is assigned; the task waits for its answer.'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.endpoints.forEach((e, i) => {
      if (seen.has(e.name))
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'name'],
          message: `another endpoint is named "${e.name}": names must be unique`,
        });
      seen.add(e.name);
      if (e.events.length === 0 && config.preAssignment?.endpoint !== e.name) {
        ctx.addIssue({
          code: 'custom',
          path: ['endpoints', i, 'events'],
          message: 'names no events and is not the preAssignment endpoint: list events such as task.*',
        });
      }
    });
    const gate = config.preAssignment?.endpoint;
    if (gate !== undefined && !seen.has(gate)) {
      const known = [...seen].join(', ') || 'none';
      ctx.addIssue({
        code: 'custom',
        path: ['preAssignment', 'endpoint'],
        message: `no endpoint is named "${gate}" (endpoints: ${known})`,
      });
    }
  })
  .describe('Webhooks: CloudEvents for task and agent phases, and an optional gate asked before each assignment.');

export type HooksConfig = z.output<typeof hooksConfig>;
export type EndpointConfig = z.output<typeof endpointConfig>;
