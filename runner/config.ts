import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { KubeEnvironment } from '../operator/src/runtime/rest/kubeconfig/load.ts';

/** Where the docker runtime copies a containerised runner's kubeconfig. */
export const DOCKER_KUBECONFIG = '/var/run/agent-orchestrator/kubeconfig';

const schema = z.object({
  AGENT_NAME: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63),
  AGENT_NAMESPACE: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/).max(63),
  RUNNER_EXECUTOR: z.enum(['command', 'http']).default('command'),
  /** A JSON array (["claude","-p"]) or a shell command line run with sh -c. */
  RUNNER_COMMAND: z.string().min(1).default('cat'),
  RUNNER_HTTP_URL: z.url().optional(),
  RUNNER_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(20),
  RUNNER_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  KUBECONFIG: z.string().optional(),
  HOME: z.string().optional(),
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  KUBERNETES_SERVICE_PORT: z.string().optional(),
});

export interface RunnerConfig {
  agent: string;
  namespace: string;
  executor: { type: 'command'; command: string[] } | { type: 'http'; url: string };
  shutdownGraceMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  /** Where the API server is: KUBECONFIG, the docker runtime's kubeconfig, ~/.kube/config or in-cluster. */
  kubeEnvironment: KubeEnvironment;
  /**
   * The environment a command executor's process gets: the runner's own, less what
   * configures the runner (its kubeconfig, RUNNER_*), so the agent sees its spec's
   * variables (API keys, model names) and PATH/HOME.
   */
  commandEnv: Record<string, string>;
}

/** The runner's settings, from its environment (the operator sets AGENT_NAME and AGENT_NAMESPACE). */
export function runnerConfig(env: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const result = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!result.success) {
    throw new Error(`invalid runner configuration: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const c = result.data;
  let executor: RunnerConfig['executor'];
  if (c.RUNNER_EXECUTOR === 'http') {
    if (!c.RUNNER_HTTP_URL) throw new Error('invalid runner configuration: RUNNER_HTTP_URL is required with RUNNER_EXECUTOR=http');
    executor = { type: 'http', url: c.RUNNER_HTTP_URL };
  } else {
    executor = { type: 'command', command: parseCommand(c.RUNNER_COMMAND) };
  }
  return {
    agent: c.AGENT_NAME,
    namespace: c.AGENT_NAMESPACE,
    executor,
    shutdownGraceMs: c.RUNNER_SHUTDOWN_GRACE_SECONDS * 1000,
    logLevel: c.RUNNER_LOG_LEVEL,
    kubeEnvironment: {
      KUBECONFIG: c.KUBECONFIG ?? (existsSync(DOCKER_KUBECONFIG) ? DOCKER_KUBECONFIG : undefined),
      HOME: c.HOME,
      KUBERNETES_SERVICE_HOST: c.KUBERNETES_SERVICE_HOST,
      KUBERNETES_SERVICE_PORT: c.KUBERNETES_SERVICE_PORT,
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
