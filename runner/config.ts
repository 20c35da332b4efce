import { existsSync } from 'node:fs';
import type { KubeEnvironment } from '../operator/src/runtime/rest/kubeconfig/load.ts';

/** Where the docker runtime copies a containerised runner's kubeconfig. */
export const DOCKER_KUBECONFIG = '/var/run/agent-orchestrator/kubeconfig';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface RunnerConfig {
  agent: string;
  namespace: string;
  executor: { type: 'command'; command: string[] } | { type: 'http'; url: string };
  shutdownGraceMs: number;
  /** How often the runner writes its resource usage to the Agent's status; 0: never. */
  resourceReportMs: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Where the API server is: KUBECONFIG, the docker runtime's kubeconfig, ~/.kube/config or in-cluster. */
  kubeEnvironment: KubeEnvironment;
  /**
   * The environment a command executor's process gets: the runner's own, less what
   * configures the runner (its kubeconfig, RUNNER_*), so the agent sees its spec's
   * variables (API keys, model names) and PATH/HOME.
   */
  commandEnv: Record<string, string>;
}

/**
 * The runner's settings, from its environment (the operator sets AGENT_NAME and
 * AGENT_NAMESPACE). Checked by hand, not with zod: the runner loads no schema library
 * (about 13 MB of RSS in every agent).
 */
export function runnerConfig(env: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const get = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const problems: string[] = [];
  const problem = (name: string, message: string): void => {
    problems.push(`${name}: ${message}`);
  };
  const dnsLabel = (name: string): string => {
    const value = get(name);
    if (value === undefined) problem(name, 'required');
    else if (value.length > 63 || !DNS_LABEL.test(value)) problem(name, "must be a DNS label: lowercase letters, digits and '-', at most 63");
    return value ?? '';
  };
  const agent = dnsLabel('AGENT_NAME');
  const namespace = dnsLabel('AGENT_NAMESPACE');
  const executorType = get('RUNNER_EXECUTOR') ?? 'command';
  if (executorType !== 'command' && executorType !== 'http') problem('RUNNER_EXECUTOR', 'must be command or http');
  const url = get('RUNNER_HTTP_URL');
  if (url !== undefined && !URL.canParse(url)) problem('RUNNER_HTTP_URL', 'must be a URL');
  const grace = Number(get('RUNNER_SHUTDOWN_GRACE_SECONDS') ?? 20);
  if (!Number.isInteger(grace) || grace < 0 || grace > 3600) problem('RUNNER_SHUTDOWN_GRACE_SECONDS', 'must be a whole number of seconds from 0 to 3600');
  const report = Number(get('RUNNER_RESOURCE_REPORT_SECONDS') ?? 60);
  if (!Number.isInteger(report) || (report !== 0 && (report < 15 || report > 3600))) {
    problem('RUNNER_RESOURCE_REPORT_SECONDS', 'must be 0 (no reports) or a whole number of seconds from 15 to 3600');
  }
  const logLevel = get('RUNNER_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problem('RUNNER_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  if (problems.length) throw new Error(`invalid runner configuration: ${problems.join('; ')}`);

  let executor: RunnerConfig['executor'];
  if (executorType === 'http') {
    if (!url) throw new Error('invalid runner configuration: RUNNER_HTTP_URL is required with RUNNER_EXECUTOR=http');
    executor = { type: 'http', url };
  } else {
    executor = { type: 'command', command: parseCommand(get('RUNNER_COMMAND') ?? 'cat') };
  }
  const kubeconfig = get('KUBECONFIG');
  return {
    agent,
    namespace,
    executor,
    shutdownGraceMs: grace * 1000,
    resourceReportMs: report * 1000,
    logLevel: logLevel as RunnerConfig['logLevel'],
    kubeEnvironment: {
      KUBECONFIG: kubeconfig ?? (existsSync(DOCKER_KUBECONFIG) ? DOCKER_KUBECONFIG : undefined),
      HOME: get('HOME'),
      KUBERNETES_SERVICE_HOST: get('KUBERNETES_SERVICE_HOST'),
      KUBERNETES_SERVICE_PORT: get('KUBERNETES_SERVICE_PORT'),
    },
    commandEnv: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[0] !== 'KUBECONFIG' && !e[0].startsWith('RUNNER_')),
    ),
  };
}

/** The runner's settings from this process's environment. */
export function loadRunnerConfig(): RunnerConfig {
  return runnerConfig(process.env);
}

function parseCommand(value: string): string[] {
  if (!value.trimStart().startsWith('[')) return ['sh', '-c', value];
  const parsed: unknown = JSON.parse(value);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((p) => typeof p === 'string')) {
    throw new Error('invalid runner configuration: RUNNER_COMMAND must be a JSON array of strings or a shell command line');
  }
  return parsed;
}
