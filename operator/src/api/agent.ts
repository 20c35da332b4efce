import { z } from 'zod';
import { capability, conditions, dnsLabel, nonNegative, objectName, observedGeneration, timestamp, tokenCounts } from './common.ts';
import { RECENT_OUTCOMES, RECENT_REFUSALS } from './names.ts';
import { asMap, asSet, withRules } from './validation.ts';
import { dockerRuntimeRules } from './runtime-rules.ts';
import {
  affinity,
  imagePullSecrets,
  nodeSelector,
  resources,
  runtimeClassName,
  serviceAccount,
  toleration,
  workspace,
} from './workload-fields.ts';

export const envVar = withRules(
  z
    .strictObject({
      name: z
        .string()
        .min(1)
        .max(256)
        .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, { message: "must be letters, digits, '_', '-' or '.'" })
        .describe('Name of the environment variable.'),
      value: z.string().max(32768).optional().describe('Literal value.'),
      valueFrom: z
        .strictObject({
          secretKeyRef: z
            .strictObject({
              name: objectName('a Secret').describe('Name of a Secret in the agent’s namespace.'),
              key: z.string().min(1).max(253).describe('Key within the Secret.'),
            })
            .describe('Read the value from a key of a Secret (API keys, tokens).'),
        })
        .optional()
        .describe('Take the value from another object instead of a literal.'),
    })
    .describe('An environment variable for the agent process.'),
  [
    {
      rule: '!(has(self.value) && has(self.valueFrom))',
      message: 'set either value or valueFrom, not both',
      holds: (e) => !(e.value !== undefined && e.valueFrom !== undefined),
    },
  ],
);

// Kubernetes' EnvFromSource: every key of a Secret or ConfigMap becomes a variable.
const envFromRef = (what: string): z.ZodObject<{ name: z.ZodString; optional: z.ZodOptional<z.ZodBoolean> }, z.core.$strict> =>
  z
    .strictObject({
      name: objectName(what).describe(`Name of ${what} in the agent’s namespace.`),
      optional: z.boolean().optional().describe('Start without it when it does not exist (default false).'),
    })
    .describe(`Take every key of ${what} as a variable.`);

export const envFromSource = withRules(
  z
    .strictObject({
      prefix: z
        .string()
        .max(256)
        .regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, { message: "must be letters, digits, '_', '-' or '.', not starting with a digit" })
        .optional()
        .describe('Put before each key to make the variable’s name (e.g. LLM_).'),
      secretRef: envFromRef('a Secret').optional(),
      configMapRef: envFromRef('a ConfigMap').optional(),
    })
    .describe('A Secret or a ConfigMap whose keys all become environment variables; keys that are not valid variable names are skipped.'),
  [
    {
      rule: 'has(self.secretRef) != has(self.configMapRef)',
      message: 'set exactly one of secretRef or configMapRef in each envFrom entry (use two entries for both)',
      holds: (e) => (e.secretRef !== undefined) !== (e.configMapRef !== undefined),
    },
  ],
);

export const runtimeTypes = ['kubernetes', 'docker'] as const;

const runtimeFields = z
  .strictObject({
    type: z.enum(runtimeTypes).describe('Where the agent runs: kubernetes (a Pod) or docker (a container on a Docker engine).'),
    image: z.string().min(1).max(1024).describe('Container image of the agent, e.g. agent-orchestrator/runner:latest. Required.'),
    command: z.array(z.string().max(4096)).max(64).optional().describe('Entrypoint override; the image’s entrypoint when unset.'),
    args: z.array(z.string().max(4096)).max(256).optional().describe('Arguments to the entrypoint.'),
    env: asMap(z.array(envVar).max(128), 'name').optional().describe('Environment variables, unique by name.'),
    envFrom: z
      .array(envFromSource)
      .max(32)
      .optional()
      .describe(
        'Secrets and ConfigMaps whose keys become environment variables; env wins over envFrom, a later entry over an earlier one.',
      ),
    resources: resources.optional(),
    workingDir: z
      .string()
      .max(512)
      .regex(/^\/.*$/, { message: 'must be an absolute path' })
      .optional()
      .describe(
        'Working directory of the agent’s process; the image’s WORKDIR when unset (not the workspace: an entrypoint may name files relative to it).',
      ),
    workspace: workspace.optional(),
    nodeSelector: nodeSelector.optional(),
    tolerations: z.array(toleration).max(32).optional().describe('kubernetes: taints the agent’s Pod tolerates, as in a Pod spec.'),
    affinity: affinity.optional(),
    imagePullSecrets: imagePullSecrets.optional(),
    runtimeClassName: runtimeClassName.optional(),
    serviceAccount: serviceAccount.optional(),
    docker: z
      .strictObject({
        host: z
          .string()
          .max(1024)
          .regex(/^(unix:\/\/\/|tcp:\/\/)\S+$/, {
            message: 'must be unix:///path/to/docker.sock or tcp://host:port',
          })
          .optional()
          .describe("Docker endpoint (unix:///var/run/docker.sock or tcp://127.0.0.1:2375); the operator's default when unset."),
      })
      .optional()
      .describe('Settings of the docker runtime.'),
  })
  .describe('How the agent’s workload is run.');

/** spec.runtime, with the rules on which runtime takes which field (runtime-rules.ts). */
export const agentRuntime = withRules(runtimeFields, dockerRuntimeRules);

export const agentDesiredStates = ['Active', 'Sleeping'] as const;

const heartbeat = withRules(
  z
    .strictObject({
      intervalSeconds: z.int().min(1).max(300).default(10).describe('How often the runner renews its Lease.'),
      timeoutSeconds: z
        .int()
        .min(2)
        .max(3600)
        .default(30)
        .describe('A Lease older than this marks the agent unhealthy and hands its tasks back.'),
    })
    .describe('Liveness of the agent, proved by renewing the Lease agent-<name>.'),
  [
    {
      rule: 'self.timeoutSeconds > self.intervalSeconds',
      message: 'heartbeat.timeoutSeconds must be greater than intervalSeconds (e.g. 3x), or healthy agents time out',
      fieldPath: '.timeoutSeconds',
      holds: (h) => h.timeoutSeconds > h.intervalSeconds,
    },
  ],
);

/** The spec of an Agent; also the template of an autoscaling pool. */
export const agentSpec = z
  .strictObject({
    capabilities: asSet(z.array(capability).max(64))
      .default([])
      .describe('What this agent can do; tasks are routed by these (code-review, typescript, gpu).'),
    runtime: agentRuntime,
    maxConcurrentTasks: z.int().min(1).max(1000).default(1).describe('How many tasks the agent runs at once.'),
    desiredState: z
      .enum(agentDesiredStates)
      .default('Active')
      .describe('Active runs the workload; Sleeping stops it but keeps the Agent, its stats and its place in pools.'),
    // A complete default: the API server checks defaults against the CEL rules as they
    // stand, without filling in the nested defaults first.
    heartbeat: heartbeat.default(() => heartbeat.parse({})),
    context: z
      .strictObject({
        windowTokens: z.int().min(1).max(100_000_000).describe('Size of the agent’s context window, in tokens.'),
        compactAtPercent: z
          .int()
          .min(1)
          .max(100)
          .default(80)
          .describe('Compact the context when usage reaches this percentage of the window.'),
      })
      .optional()
      .describe('Context-window budget of an LLM agent.'),
  })
  .describe('The desired state of an Agent.');

/** Refused requests of the agent's identity, as one source saw them (threat detection). */
export const refusalLog = z.object({
  total: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Refusals counted since the first, by this source.'),
  recent: z
    .array(
      z.object({
        time: timestamp.describe('When the last refusal of this entry happened.'),
        verb: z.string().min(1).max(32).describe('What was asked: get, list, watch, create, update, patch, delete.'),
        resource: z.string().min(1).max(253).describe('The resource, with its subresource: tasks, leases, agents/status.'),
        name: z.string().max(253).optional().describe('The object asked for, when the request named one.'),
        namespace: z.string().max(63).optional().describe('The namespace asked for, when the request had one.'),
        count: z
          .int()
          .min(1)
          .max(1_000_000_000)
          .default(1)
          .describe('Refusals alike (verb, resource, name, namespace) this entry stands for.'),
        message: z.string().max(256).optional().describe('The API server’s answer, cut to 256 characters.'),
      }),
    )
    .max(RECENT_REFUSALS)
    .optional()
    .describe(
      `The last ${RECENT_REFUSALS} entries, oldest first; refusals alike within one report are one entry with a count, so a storm costs one entry per report.`,
    ),
});

export const agentPhases = ['Pending', 'Starting', 'Ready', 'Busy', 'Sleeping', 'Draining', 'Failed', 'Terminating'] as const;

export const agentStatus = z
  .object({
    phase: z.enum(agentPhases).optional().describe('Where the agent is in its lifecycle.'),
    conditions: conditions.optional(),
    activeTasks: nonNegative(1000).optional().describe('Tasks the agent is running now.'),
    lastHeartbeatTime: timestamp.optional().describe('When the runner last renewed the agent’s Lease.'),
    workload: z
      .object({
        kind: z.enum(['Pod', 'Container']).describe('Pod (kubernetes runtime) or Container (docker runtime).'),
        name: z.string().max(253).describe('Name of the Pod or container.'),
        id: z.string().max(128).optional().describe('UID of the Pod or ID of the container.'),
        restarts: nonNegative(Number.MAX_SAFE_INTEGER)
          .optional()
          .describe('Restarts and failed starts since the agent was last Ready; drives the restart backoff.'),
        startedAt: timestamp
          .optional()
          .describe('When the workload’s process last started; a task attempt started before it is handed back.'),
        lastExit: z
          .object({
            reason: z.string().max(256).describe('Why it ended: OOMKilled, Error, Completed, ...'),
            exitCode: z.int().min(-1024).max(1024).optional().describe('Its exit code.'),
            finishedAt: timestamp.describe('When it ended.'),
          })
          .optional()
          .describe('How the workload’s process last ended (an OOM kill stays here after the restart).'),
      })
      .optional()
      .describe('The workload that runs the agent now.'),
    stats: z
      .object({
        succeeded: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Tasks completed successfully.'),
        failed: nonNegative(Number.MAX_SAFE_INTEGER).default(0).describe('Tasks that failed on this agent.'),
        consecutiveFailures: nonNegative(Number.MAX_SAFE_INTEGER)
          .default(0)
          .describe('Failures since the last success; opens the circuit breaker at its threshold.'),
        lastFailureTime: timestamp
          .optional()
          .describe('When a task last failed on this agent (a failed half-open trial re-opens the circuit).'),
        recent: z
          .array(
            z.object({
              task: z.string().max(253).describe('The Task.'),
              attempt: z.int().min(1).max(1000).describe('Its attempt number.'),
              capabilities: z
                .string()
                .max(2048)
                .describe('The task’s spec.requiredCapabilities, sorted and joined with commas: tasks alike are compared with each other.'),
              durationMs: nonNegative(604_800_000).describe('How long the attempt ran, in milliseconds, as the runner measured it.'),
              outcome: z.enum(['Succeeded', 'Failed', 'TimedOut']).describe('How it ended.'),
              completedAt: timestamp.describe('When it ended (milliseconds).'),
            }),
          )
          .max(RECENT_OUTCOMES)
          .optional()
          .describe(
            `The agent's last ${RECENT_OUTCOMES} finished attempts, oldest first (the anomaly plugin learns each agent's normal durations and failure rate from them).`,
          ),
        usage: tokenCounts.optional().describe('Tokens of every attempt the agent finished, added up by its runner.'),
        compactions: nonNegative(Number.MAX_SAFE_INTEGER)
          .optional()
          .describe('Context compaction cycles the agent completed (compacted or recycled), counted by its runner.'),
      })
      .optional()
      .describe('Outcome counters, kept across sleep and restarts.'),
    resources: z
      .object({
        cpuMillicores: nonNegative(10_000_000).describe('CPU the agent used over the last report interval, in millicores.'),
        memoryBytes: nonNegative(Number.MAX_SAFE_INTEGER).describe('Memory the agent’s workload holds now, in bytes.'),
        source: z
          .enum(['cgroup', 'process'])
          .describe(
            'cgroup: the whole container or Pod (what docker stats and metrics.k8s.io read); process: the runner process alone, where no cgroup is readable.',
          ),
        observedAt: timestamp.describe('When the runner measured it.'),
      })
      .optional()
      .describe('Resource usage, reported by the runner at most every RUNNER_RESOURCE_REPORT_SECONDS (60 by default).'),
    contextUsage: z
      .object({
        tokens: nonNegative(Number.MAX_SAFE_INTEGER).describe('Tokens in the context window now.'),
        percent: nonNegative(100).describe('Share of the window in use.'),
      })
      .optional()
      .describe('Context-window usage, reported by the runner.'),
    refusals: z
      .object({
        reported: refusalLog
          .optional()
          .describe(
            'Refusals (403) the agent’s runner met, reported by the runner itself in a coalesced status write. Only as honest as the runner.',
          ),
        audited: refusalLog
          .optional()
          .describe(
            'Refusals (403) of the agent’s identity in the API server’s audit log, written by the operator from the audit webhook; the agent may not write this field (admission policy).',
          ),
      })
      .optional()
      .describe(
        'Requests of the agent’s identity the API server refused; the threat-detection plugin quarantines an agent that keeps trying.',
      ),
    drainingSince: timestamp
      .optional()
      .describe('When the agent began draining (to sleep, roll or be deleted); running tasks get a grace period from here.'),
    observedGeneration: observedGeneration.optional(),
  })
  .describe('The observed state of an Agent.');

export const agent = withRules(
  z.object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z
      .object({ name: dnsLabel('an Agent name').optional() })
      .loose()
      .optional(),
    spec: agentSpec,
    status: agentStatus.optional(),
  }),
  [
    {
      rule: 'self.spec.runtime.type == oldSelf.spec.runtime.type',
      message: 'spec.runtime.type is immutable: delete the Agent and create it again to move it to another runtime',
      fieldPath: '.spec.runtime.type',
    },
  ],
);

export type AgentSpec = z.infer<typeof agentSpec>;
export type AgentStatus = z.infer<typeof agentStatus>;
export type RefusalLog = z.infer<typeof refusalLog>;
export type Agent = z.infer<typeof agent>;
