import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { z } from 'zod';

// The variables that locate the API server: the kubeconfig files, ~/.kube, in-cluster.
const KUBE_ENVIRONMENT = ['KUBECONFIG', 'HOME', 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'] as const;

// Where Kubernetes mounts the ServiceAccount's namespace into every Pod.
const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

const seconds = (min: number, max: number): z.ZodCoercedNumber => z.coerce.number().int().min(min).max(max);
const bindAddress = z
  .string()
  .regex(/^(0|(\[[0-9a-fA-F:]+\]|[^:\s]*):\d{1,5})$/, { message: 'must be host:port (":8080", "127.0.0.1:0") or 0 to disable' });

/**
 * Every setting of the operator: a flag, an environment variable, a default and a
 * description (docs/configuration.md is generated from this table). A flag wins over
 * the environment. This module is the only reader of process.env and process.argv.
 */
export const settings = [
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'AO_LOG_LEVEL',
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
    description: 'Minimum level of the log lines written to stdout.',
  },
  {
    key: 'logFormat',
    flag: 'log-format',
    env: 'AO_LOG_FORMAT',
    schema: z.enum(['json', 'text']).default('json'),
    description: 'json: one JSON object per line (for log pipelines); text: time, level, message and key=value pairs.',
  },
  {
    key: 'metricsBindAddress',
    flag: 'metrics-bind-address',
    env: 'AO_METRICS_BIND_ADDRESS',
    schema: bindAddress.default(':8080'),
    description: 'Where /metrics is served (Prometheus text format); 0 disables it.',
  },
  {
    key: 'healthProbeBindAddress',
    flag: 'health-probe-bind-address',
    env: 'AO_HEALTH_PROBE_BIND_ADDRESS',
    schema: bindAddress.default(':8081'),
    description: 'Where /healthz and /readyz are served; 0 disables them.',
  },
  {
    key: 'auditWebhookBindAddress',
    flag: 'audit-webhook-bind-address',
    env: 'AO_AUDIT_WEBHOOK_BIND_ADDRESS',
    schema: bindAddress.default('0'),
    description:
      "Where POST /audit takes the API server's audit webhook batches (audit.k8s.io/v1 EventList), so refusals (403) of agent identities reach the threat-detection plugin; 0 (the default) serves nothing.",
  },
  {
    key: 'auditWebhookTokenFile',
    flag: 'audit-webhook-token-file',
    env: 'AO_AUDIT_WEBHOOK_TOKEN_FILE',
    schema: z.string().min(1).optional(),
    description:
      "A file holding the bearer token the API server's audit webhook kubeconfig sends; /audit refuses a POST without it (401). Needs TLS (the API server sends no token over plain http). Unset: any caller that reaches the address is believed.",
  },
  {
    key: 'auditWebhookTlsCertFile',
    flag: 'audit-webhook-tls-cert-file',
    env: 'AO_AUDIT_WEBHOOK_TLS_CERT_FILE',
    schema: z.string().min(1).optional(),
    description: 'Serving certificate (PEM) of the audit webhook: with the key, /audit is served over HTTPS.',
  },
  {
    key: 'auditWebhookTlsKeyFile',
    flag: 'audit-webhook-tls-key-file',
    env: 'AO_AUDIT_WEBHOOK_TLS_KEY_FILE',
    schema: z.string().min(1).optional(),
    description: 'Private key (PEM) of the audit webhook serving certificate.',
  },
  {
    key: 'leaderElect',
    flag: 'leader-elect',
    env: 'AO_LEADER_ELECT',
    schema: z.stringbool().default(true),
    description: 'Run controllers only on the replica that holds the leader Lease (true/false).',
  },
  {
    key: 'leaderElectionId',
    flag: 'leader-election-id',
    env: 'AO_LEADER_ELECTION_ID',
    schema: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/)
      .max(253)
      .default('agent-orchestrator'),
    description: 'Name of the leader Lease.',
  },
  {
    key: 'leaderElectionNamespace',
    flag: 'leader-election-namespace',
    env: 'AO_LEADER_ELECTION_NAMESPACE',
    schema: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .max(63)
      .optional(),
    description: "Namespace of the leader Lease; the Pod's own namespace in a cluster, else default.",
  },
  {
    key: 'leaseDurationSeconds',
    flag: 'leader-elect-lease-duration',
    env: 'AO_LEADER_ELECT_LEASE_DURATION',
    schema: seconds(2, 600).default(15),
    description: 'Seconds a standby waits after the last renewal before taking the Lease.',
  },
  {
    key: 'renewDeadlineSeconds',
    flag: 'leader-elect-renew-deadline',
    env: 'AO_LEADER_ELECT_RENEW_DEADLINE',
    schema: seconds(1, 600).default(10),
    description: 'Seconds the leader keeps trying to renew before it stops its controllers and exits.',
  },
  {
    key: 'retryPeriodSeconds',
    flag: 'leader-elect-retry-period',
    env: 'AO_LEADER_ELECT_RETRY_PERIOD',
    schema: seconds(1, 60).default(2),
    description: 'Seconds between attempts to acquire or renew the Lease.',
  },
  {
    key: 'identity',
    flag: 'identity',
    env: 'AO_IDENTITY',
    schema: z.string().min(1).max(128).optional(),
    description: 'This replica in the Lease and in Events; POD_NAME, else the hostname with a random suffix.',
  },
  {
    key: 'shutdownTimeoutSeconds',
    flag: 'shutdown-timeout',
    env: 'AO_SHUTDOWN_TIMEOUT',
    schema: seconds(1, 3600).default(30),
    description: 'On SIGTERM, seconds to let reconciles in flight finish before exiting anyway.',
  },
  {
    key: 'kubeContext',
    flag: 'kube-context',
    env: 'AO_KUBE_CONTEXT',
    schema: z.string().min(1).optional(),
    description: "The kubeconfig context to use; the kubeconfig's current-context when unset.",
  },
  {
    key: 'kubeApiQps',
    flag: 'kube-api-qps',
    env: 'AO_KUBE_API_QPS',
    schema: z.coerce.number().positive().max(10000).default(100),
    description:
      'Sustained requests per second to the API server (client-side rate limit; API Priority and Fairness protects the server; best-effort reports, Events and why a task waits, have their own 20 QPS budget).',
  },
  {
    key: 'kubeApiBurst',
    flag: 'kube-api-burst',
    env: 'AO_KUBE_API_BURST',
    schema: z.coerce.number().int().min(1).max(10000).default(200),
    description: 'Requests allowed in a burst above kube-api-qps.',
  },
  {
    key: 'watchNamespaces',
    flag: 'watch-namespaces',
    env: 'AO_WATCH_NAMESPACES',
    schema: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((n) => n.trim())
          .filter((n) => n !== ''),
      )
      .pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'each namespace must be a DNS label' }))),
    description: 'Comma-separated namespaces to watch; empty watches every namespace.',
  },
  {
    key: 'resyncPeriodSeconds',
    flag: 'resync-period',
    env: 'AO_RESYNC_PERIOD',
    schema: seconds(0, 86400).default(3600),
    description: 'Seconds between re-deliveries of every cached object to the controllers; 0 disables.',
  },
  {
    key: 'watchdogSeconds',
    flag: 'watch-watchdog',
    env: 'AO_WATCH_WATCHDOG',
    schema: seconds(0, 86400).default(300),
    description: 'Relist a resource when its watch was silent (not even a bookmark) this long; 0 disables.',
  },
  {
    key: 'agentDrainGraceSeconds',
    flag: 'agent-drain-grace',
    env: 'AO_AGENT_DRAIN_GRACE',
    schema: seconds(0, 86400).default(120),
    description: 'Seconds an Agent going to sleep, rolling or being deleted waits for its running tasks.',
  },
  {
    key: 'agentStartupGraceSeconds',
    flag: 'agent-startup-grace',
    env: 'AO_AGENT_STARTUP_GRACE',
    schema: seconds(1, 3600).default(120),
    description: 'Seconds a started workload may run without a first heartbeat before the Agent is marked Failed.',
  },
  {
    key: 'agentRemovalTimeoutSeconds',
    flag: 'agent-removal-timeout',
    env: 'AO_AGENT_REMOVAL_TIMEOUT',
    schema: seconds(1, 86400).default(120),
    description: 'Seconds a deleted Agent waits for an unreachable runtime before it is released anyway (with a Warning Event).',
  },
  {
    key: 'agentWorkers',
    flag: 'agent-workers',
    env: 'AO_AGENT_WORKERS',
    schema: z.coerce.number().int().min(1).max(64).default(4),
    description: 'Agents reconciled at once.',
  },
  {
    key: 'taskWorkers',
    flag: 'task-workers',
    env: 'AO_TASK_WORKERS',
    schema: z.coerce.number().int().min(1).max(64).default(8),
    description: 'Tasks reconciled at once (lifecycle: dependencies, retries, hand-backs). Routing is one loop.',
  },
  {
    key: 'feasibleAgentsToFind',
    flag: 'feasible-agents-to-find',
    env: 'AO_FEASIBLE_AGENTS_TO_FIND',
    schema: z.coerce.number().int().min(0).max(100000).default(100),
    description:
      "In a namespace with more agents than this, a task is placed among the first so many agents found able to run it, looking from a rotating start (like kube-scheduler's percentageOfNodesToScore): routing cost per task stays flat as the fleet grows. 0 looks at every agent.",
  },
  {
    key: 'pluginTimeBudgetMs',
    flag: 'plugin-time-budget',
    env: 'AO_PLUGIN_TIME_BUDGET',
    schema: z.coerce.number().int().min(1).max(60000).default(100),
    description:
      'Milliseconds one plugin may spend on one task at one extension point (or on one lifecycle tick); past it, its answer is discarded and the policy reports PluginDegraded.',
  },
  {
    key: 'plugins',
    flag: 'plugin',
    env: 'AO_PLUGINS',
    // The flag may be given once per module; its values join the way the variable's commas do.
    multiple: true,
    schema: z
      .string()
      .default('')
      .transform((s) =>
        s
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== ''),
      )
      .pipe(z.array(z.string())),
    description:
      'Out-of-tree plugins to load at start: paths of ES modules (.js, .mjs, or .ts, which Node strips of its types), absolute or relative to the working directory, comma-separated; the flag may be repeated. A module that fails to load stops the operator with exit code 2. See docs/plugins.md.',
  },
  {
    key: 'pluginSettings',
    flag: 'plugin-settings',
    env: 'AO_PLUGIN_SETTINGS',
    schema: z
      .string()
      .default('{}')
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `must be JSON (${(err as Error).message}), e.g. {"security":{"enabled":true}}` });
          return z.NEVER;
        }
      })
      .pipe(
        z.record(z.string(), z.record(z.string(), z.unknown()), {
          error: 'must be a JSON object of objects by plugin name, e.g. {"security":{"enabled":true}}',
        }),
      ),
    description:
      'Operator-wide plugin settings, a JSON object by plugin name (the chart passes its security block as {"security": ...}): what the installer decides and a namespace’s policy cannot change. Each plugin checks its own entry at start; an error stops the operator with exit code 2, naming the field (security.images.allow[0]: ...).',
  },
  {
    key: 'taskReassignDelaySeconds',
    flag: 'task-reassign-delay',
    env: 'AO_TASK_REASSIGN_DELAY',
    schema: seconds(0, 3600).default(5),
    description: 'Seconds a task handed back by a lost, sleeping or deleted agent waits before it is routed again.',
  },
  {
    key: 'taskTimeoutGraceSeconds',
    flag: 'task-timeout-grace',
    env: 'AO_TASK_TIMEOUT_GRACE',
    schema: seconds(0, 3600).default(30),
    description: 'Seconds past spec.timeoutSeconds before the operator fails a running attempt the runner did not end.',
  },
  {
    key: 'dockerHost',
    flag: 'docker-host',
    env: 'AO_DOCKER_HOST',
    schema: z
      .string()
      .regex(/^(unix:\/\/\/|tcp:\/\/)\S+$/, { message: 'must be unix:///path/to/docker.sock or tcp://host:port' })
      .default('unix:///var/run/docker.sock'),
    description: 'Docker engine for Agents of runtime docker that do not name one in spec.runtime.docker.host.',
  },
  {
    key: 'dockerRequestTimeoutSeconds',
    flag: 'docker-request-timeout',
    env: 'AO_DOCKER_REQUEST_TIMEOUT',
    schema: seconds(1, 600).default(30),
    description:
      'Seconds a Docker engine may stay silent on a request before it counts as unreachable (an engine that hangs must not hold a reconcile forever).',
  },
  {
    key: 'dockerNetwork',
    flag: 'docker-network',
    env: 'AO_DOCKER_NETWORK',
    schema: z.enum(['host', 'none']).default('host'),
    description: 'Network of agent containers: host (they reach the API server like the operator does) or none.',
  },
  {
    key: 'dockerPullPolicy',
    flag: 'docker-pull-policy',
    env: 'AO_DOCKER_PULL_POLICY',
    schema: z.enum(['IfNotPresent', 'Never']).default('IfNotPresent'),
    description: 'Pull a missing agent image (IfNotPresent), or report it as ImageNotFound (Never, for engines without a registry).',
  },
  {
    key: 'agentApiServer',
    flag: 'agent-api-server',
    env: 'AO_AGENT_API_SERVER',
    schema: z.url({ protocol: /^https?$/ }).optional(),
    description: "API server URL written into docker agents' kubeconfig; the operator's own server when unset.",
  },
] as const;

type Setting = (typeof settings)[number];
type Shape = { [S in Setting as S['key']]: S['schema'] };

const configSchema = z.object(Object.fromEntries(settings.map((s) => [s.key, s.schema])) as unknown as Shape).superRefine((c, ctx) => {
  // client-go's constraints, so a leader gives up before a standby may take over.
  if (c.leaseDurationSeconds <= c.renewDeadlineSeconds) {
    ctx.addIssue({ code: 'custom', path: ['leaseDurationSeconds'], message: 'must be greater than the renew deadline' });
  }
  if ((c.auditWebhookTlsCertFile === undefined) !== (c.auditWebhookTlsKeyFile === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: ['auditWebhookTlsKeyFile'],
      message: 'give both the certificate and the key of the audit webhook, or neither',
    });
  }
  if (c.auditWebhookTokenFile !== undefined && c.auditWebhookTlsCertFile === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['auditWebhookTokenFile'],
      message: 'needs --audit-webhook-tls-cert-file and --audit-webhook-tls-key-file: the API server sends no bearer token over plain http',
    });
  }
  if (c.renewDeadlineSeconds <= c.retryPeriodSeconds * 1.2) {
    ctx.addIssue({ code: 'custom', path: ['renewDeadlineSeconds'], message: 'must be greater than 1.2 x the retry period' });
  }
});

type Parsed = z.infer<typeof configSchema>;

export type Config = Readonly<Omit<Parsed, 'identity' | 'leaderElectionNamespace' | 'watchNamespaces' | 'plugins'>> & {
  /** What the kubeconfig loader (runtime/rest/kubeconfig/load.ts) reads. */
  readonly kubeEnvironment: Readonly<Record<(typeof KUBE_ENVIRONMENT)[number], string | undefined>>;
  readonly identity: string;
  readonly leaderElectionNamespace: string;
  readonly watchNamespaces: readonly string[];
  readonly plugins: readonly string[];
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface Environment {
  readonly [name: string]: string | undefined;
}

/** Parses flags and environment into a frozen Config, or throws a ConfigError naming the setting to fix. */
export function parseConfig(argv: readonly string[], env: Environment, inClusterNamespace?: string): Config {
  let flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(settings.map((s) => [s.flag, { type: 'string', multiple: 'multiple' in s && s.multiple }])),
      strict: true,
    }).values;
  } catch (err) {
    const known = settings.map((s) => `--${s.flag}`).join(', ');
    throw new ConfigError(`${(err as Error).message}; known flags: ${known}`);
  }
  const raw: Record<string, unknown> = {};
  for (const s of settings) {
    const flag = flags[s.flag];
    const value = Array.isArray(flag) ? flag.join(',') : (flag ?? env[s.env]);
    if (value !== undefined && value !== '') raw[s.key] = value;
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const s = settings.find((x) => x.key === issue.path[0]);
      const where = s ? `--${s.flag} / ${s.env}` : issue.path.join('.');
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  return Object.freeze({
    ...c,
    kubeEnvironment: Object.freeze(Object.fromEntries(KUBE_ENVIRONMENT.map((name) => [name, env[name]])) as Config['kubeEnvironment']),
    identity: c.identity ?? env.POD_NAME ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
    leaderElectionNamespace: c.leaderElectionNamespace ?? env.POD_NAMESPACE ?? inClusterNamespace ?? 'default',
    watchNamespaces: Object.freeze([...c.watchNamespaces]),
    plugins: Object.freeze([...c.plugins]),
  });
}

/** The Config of this process, from its command line and environment. */
export function loadConfig(): Config {
  const namespace = existsSync(IN_CLUSTER_NAMESPACE_FILE) ? readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() : undefined;
  return parseConfig(process.argv.slice(2), process.env, namespace);
}
