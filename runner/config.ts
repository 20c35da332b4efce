import { existsSync } from 'node:fs';
import type { KubeEnvironment } from '../operator/src/runtime/rest/kubeconfig/load.ts';

/** Where the docker runtime copies a containerised runner's kubeconfig. */
export const DOCKER_KUBECONFIG = '/var/run/agent-orchestrator/kubeconfig';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface RunnerConfig {
  agent: string;
  namespace: string;
  executor: CommandExecutorConfig | { type: 'http'; url: string } | ModelExecutorConfig;
  shutdownGraceMs: number;
  /** How often the runner writes its resource usage to the Agent's status; 0: never. */
  resourceReportMs: number;
  /** How often a running task's last output lines are copied into its status.progress; 0: never. */
  progressMs: number;
  /** How often refusals (403) met since the last report are written to the Agent's status.refusals; 0: never. */
  refusalReportMs: number;
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

export interface CommandExecutorConfig {
  type: 'command';
  command: string[];
  /** RUNNER_COMPACT_COMMAND: how the agent compacts its context; without it, it cannot. */
  compactCommand?: string[];
  compactPrompt?: string;
}

/** RUNNER_EXECUTOR=model: an OpenAI-compatible chat completions endpoint. */
export interface ModelExecutorConfig {
  type: 'model';
  url: string;
  model: string;
  /** From a Secret through env valueFrom; RUNNER_*, so never in a command's environment. */
  apiKey?: string;
  systemPrompt?: string;
  maxTokens?: number;
  temperature?: number;
  session: 'task' | 'agent';
  compactPrompt?: string;
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
    else if (value.length > 63 || !DNS_LABEL.test(value))
      problem(name, "must be a DNS label: lowercase letters, digits and '-', at most 63");
    return value ?? '';
  };
  const agent = dnsLabel('AGENT_NAME');
  const namespace = dnsLabel('AGENT_NAMESPACE');
  const executorType = get('RUNNER_EXECUTOR') ?? 'command';
  if (executorType !== 'command' && executorType !== 'http' && executorType !== 'model')
    problem('RUNNER_EXECUTOR', 'must be command, http or model');
  const url = get('RUNNER_HTTP_URL');
  if (url !== undefined && !URL.canParse(url)) problem('RUNNER_HTTP_URL', 'must be a URL');
  const model = modelSettings(get, problem);
  const grace = Number(get('RUNNER_SHUTDOWN_GRACE_SECONDS') ?? 20);
  if (!Number.isInteger(grace) || grace < 0 || grace > 3600)
    problem('RUNNER_SHUTDOWN_GRACE_SECONDS', 'must be a whole number of seconds from 0 to 3600');
  const progress = Number(get('RUNNER_PROGRESS_SECONDS') ?? 10);
  if (!Number.isInteger(progress) || (progress !== 0 && (progress < 2 || progress > 3600))) {
    problem('RUNNER_PROGRESS_SECONDS', 'must be 0 (no progress in the Task status) or a whole number of seconds from 2 to 3600');
  }
  const report = Number(get('RUNNER_RESOURCE_REPORT_SECONDS') ?? 60);
  if (!Number.isInteger(report) || (report !== 0 && (report < 15 || report > 3600))) {
    problem('RUNNER_RESOURCE_REPORT_SECONDS', 'must be 0 (no reports) or a whole number of seconds from 15 to 3600');
  }
  const refusals = Number(get('RUNNER_REFUSAL_REPORT_SECONDS') ?? 5);
  if (!Number.isInteger(refusals) || refusals < 0 || refusals > 3600) {
    problem('RUNNER_REFUSAL_REPORT_SECONDS', 'must be 0 (no reports) or a whole number of seconds from 1 to 3600');
  }
  const logLevel = get('RUNNER_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) problem('RUNNER_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  if (problems.length) throw new Error(`invalid runner configuration: ${problems.join('; ')}`);

  let executor: RunnerConfig['executor'];
  const compactPrompt = get('RUNNER_COMPACT_PROMPT');
  if (executorType === 'http') {
    if (!url) throw new Error('invalid runner configuration: RUNNER_HTTP_URL is required with RUNNER_EXECUTOR=http');
    executor = { type: 'http', url };
  } else if (executorType === 'model') {
    const missing = [
      model.url === undefined ? 'RUNNER_MODEL_URL (the API base URL, such as http://vllm.models:8000/v1)' : '',
      model.model === undefined ? 'RUNNER_MODEL (the model name the endpoint serves)' : '',
    ].filter((m) => m !== '');
    if (missing.length > 0 || model.url === undefined || model.model === undefined) {
      throw new Error(`invalid runner configuration: ${missing.join(' and ')} required with RUNNER_EXECUTOR=model`);
    }
    executor = { ...model, url: model.url, model: model.model, type: 'model', ...(compactPrompt === undefined ? {} : { compactPrompt }) };
  } else {
    const compact = get('RUNNER_COMPACT_COMMAND');
    executor = {
      type: 'command',
      command: parseCommand('RUNNER_COMMAND', get('RUNNER_COMMAND') ?? 'cat'),
      ...(compact === undefined ? {} : { compactCommand: parseCommand('RUNNER_COMPACT_COMMAND', compact) }),
      ...(compactPrompt === undefined ? {} : { compactPrompt }),
    };
  }
  const kubeconfig = get('KUBECONFIG');
  return {
    agent,
    namespace,
    executor,
    shutdownGraceMs: grace * 1000,
    resourceReportMs: report * 1000,
    progressMs: progress * 1000,
    refusalReportMs: refusals * 1000,
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

function parseCommand(name: string, value: string): string[] {
  if (!value.trimStart().startsWith('[')) return ['sh', '-c', value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed[0] === '' || !parsed.every((p) => typeof p === 'string')) {
    throw new Error(
      `invalid runner configuration: ${name} must be a JSON array of strings (a program and its arguments) or a shell command line`,
    );
  }
  return parsed;
}

type Problem = (name: string, message: string) => void;

/** The RUNNER_MODEL_* settings, each checked where set (required ones are checked by the caller). */
function modelSettings(
  get: (name: string) => string | undefined,
  problem: Problem,
): Omit<ModelExecutorConfig, 'type' | 'url' | 'model'> & { url?: string; model?: string } {
  const url = get('RUNNER_MODEL_URL');
  if (url !== undefined && !(URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol))) {
    problem('RUNNER_MODEL_URL', 'must be an http or https URL, the API base such as http://vllm.models:8000/v1');
  }
  const maxTokens = get('RUNNER_MODEL_MAX_TOKENS');
  if (maxTokens !== undefined && !(/^\d+$/.test(maxTokens) && Number(maxTokens) >= 1 && Number(maxTokens) <= 10_000_000)) {
    problem('RUNNER_MODEL_MAX_TOKENS', 'must be a whole number of tokens, 1 or more');
  }
  const temperature = get('RUNNER_MODEL_TEMPERATURE');
  if (temperature !== undefined && !(/^\d+(\.\d+)?$/.test(temperature) && Number(temperature) <= 2)) {
    problem('RUNNER_MODEL_TEMPERATURE', 'must be a number from 0 to 2');
  }
  const session = get('RUNNER_MODEL_SESSION') ?? 'task';
  if (session !== 'task' && session !== 'agent') {
    problem('RUNNER_MODEL_SESSION', 'must be task (a fresh conversation per task) or agent (one conversation across tasks)');
  }
  const model = get('RUNNER_MODEL');
  const apiKey = get('RUNNER_MODEL_API_KEY');
  const systemPrompt = get('RUNNER_MODEL_SYSTEM_PROMPT');
  return {
    ...(url === undefined ? {} : { url }),
    ...(model === undefined ? {} : { model }),
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(systemPrompt === undefined ? {} : { systemPrompt }),
    ...(maxTokens === undefined ? {} : { maxTokens: Number(maxTokens) }),
    ...(temperature === undefined ? {} : { temperature: Number(temperature) }),
    session: session === 'agent' ? 'agent' : 'task',
  };
}
