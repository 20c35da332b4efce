import type { z } from 'zod';
import { agent } from './agent.ts';
import { GROUP } from './common.ts';
import { policy } from './policy.ts';
import { task } from './task.ts';

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description: string;
  /** 1: shown only with `kubectl get -o wide`. */
  readonly priority?: number;
}

/** Everything needed to generate one CustomResourceDefinition and its reference docs. */
export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly description: string;
  /** The whole object: apiVersion, kind, metadata, spec, status. */
  readonly schema: z.ZodType;
  readonly printerColumns: readonly PrinterColumn[];
  /** Fields usable in field selectors (`kubectl get tk --field-selector status.phase=Pending`). */
  readonly selectableFields: readonly string[];
}

/** `kubectl get orchestrator` lists every kind of this API. */
export const CATEGORY = 'orchestrator';

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

const readyReason = (priority?: number): PrinterColumn => ({
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
  description: 'Reason of the Ready condition.',
  ...(priority === undefined ? {} : { priority }),
});

export const agentKind: KindDefinition = {
  kind: 'Agent',
  plural: 'agents',
  singular: 'agent',
  shortNames: ['ag'],
  description:
    'An Agent is one agent instance: a Pod or a Docker container that runs the agent runner, advertises capabilities and takes Tasks.',
  schema: agent,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
    { name: 'Runtime', type: 'string', jsonPath: '.spec.runtime.type', description: 'kubernetes or docker.' },
    { name: 'Capabilities', type: 'string', jsonPath: '.spec.capabilities', description: 'What the agent can do.' },
    { name: 'Active', type: 'integer', jsonPath: '.status.activeTasks', description: 'Tasks running now.' },
    { name: 'Max', type: 'integer', jsonPath: '.spec.maxConcurrentTasks', description: 'Tasks it may run at once.' },
    age,
    { name: 'Desired', type: 'string', jsonPath: '.spec.desiredState', description: 'Active or Sleeping.', priority: 1 },
    { name: 'Image', type: 'string', jsonPath: '.spec.runtime.image', description: 'Agent image.', priority: 1 },
    readyReason(1),
  ],
  selectableFields: ['.spec.runtime.type', '.spec.desiredState', '.status.phase'],
};

export const taskKind: KindDefinition = {
  kind: 'Task',
  plural: 'tasks',
  singular: 'task',
  shortNames: ['tk'],
  description:
    'A Task is one unit of work, routed to an Agent that has its required capabilities, retried on failure, and ordered by dependencies.',
  schema: task,
  printerColumns: [
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Lifecycle phase.' },
    { name: 'Agent', type: 'string', jsonPath: '.status.assignment.agent', description: 'The assigned Agent.' },
    { name: 'Priority', type: 'integer', jsonPath: '.spec.priority', description: 'Higher runs first.' },
    { name: 'Attempts', type: 'integer', jsonPath: '.status.attempts', description: 'Attempts started.' },
    age,
    {
      name: 'Requires',
      type: 'string',
      jsonPath: '.spec.requiredCapabilities',
      description: 'Required capabilities.',
      priority: 1,
    },
    {
      name: 'Waiting',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Scheduled")].message',
      description: 'Why the task is not scheduled yet.',
      priority: 1,
    },
  ],
  selectableFields: ['.status.phase', '.status.assignment.agent'],
};

export const policyKind: KindDefinition = {
  kind: 'OrchestratorPolicy',
  plural: 'orchestratorpolicies',
  singular: 'orchestratorpolicy',
  shortNames: ['opol'],
  description:
    'An OrchestratorPolicy says how a namespace is run: routing strategy and plugins, autoscaling pools, retry and circuit-breaker defaults.',
  schema: policy,
  printerColumns: [
    { name: 'Strategy', type: 'string', jsonPath: '.spec.routing.strategy', description: 'Routing strategy.' },
    // A JSONPath column shows only its first match, so the controller writes a summary.
    { name: 'Pools', type: 'string', jsonPath: '.status.summary', description: 'Each pool as name current/desired.' },
    age,
    readyReason(1),
  ],
  selectableFields: [],
};

export const kinds: readonly KindDefinition[] = [agentKind, taskKind, policyKind];

export const crdName = (k: KindDefinition): string => `${k.plural}.${GROUP}`;
