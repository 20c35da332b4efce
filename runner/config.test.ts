import { describe, expect, it } from 'vitest';
import { runnerConfig } from './config.ts';

const base = { AGENT_NAME: 'reviewer-1', AGENT_NAMESPACE: 'team-a' };

describe('runnerConfig', () => {
  it('has defaults for everything but the Agent it runs for', () => {
    expect(runnerConfig({ ...base, HOME: '/home/r', PATH: '/bin' })).toEqual({
      agent: 'reviewer-1',
      namespace: 'team-a',
      executor: { type: 'command', command: ['sh', '-c', 'cat'] },
      shutdownGraceMs: 20_000,
      resourceReportMs: 60_000,
      progressMs: 10_000,
      refusalReportMs: 5_000,
      logLevel: 'info',
      kubeEnvironment: { KUBECONFIG: undefined, HOME: '/home/r', KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined },
      commandEnv: { ...base, HOME: '/home/r', PATH: '/bin' },
    });
  });

  it.each([
    {
      name: 'a JSON command',
      env: { RUNNER_COMMAND: '["claude","-p"]' },
      expected: { executor: { type: 'command', command: ['claude', '-p'] } },
    },
    {
      name: 'the http executor',
      env: { RUNNER_EXECUTOR: 'http', RUNNER_HTTP_URL: 'http://127.0.0.1:8000/tasks' },
      expected: { executor: { type: 'http', url: 'http://127.0.0.1:8000/tasks' } },
    },
    {
      name: 'the model executor with its defaults',
      env: { RUNNER_EXECUTOR: 'model', RUNNER_MODEL_URL: 'http://vllm.models:8000/v1', RUNNER_MODEL: 'Qwen/Qwen2.5-7B-Instruct' },
      expected: { executor: { type: 'model', url: 'http://vllm.models:8000/v1', model: 'Qwen/Qwen2.5-7B-Instruct', session: 'task' } },
    },
    {
      name: 'the model executor with every setting, its key kept from commands',
      env: {
        RUNNER_EXECUTOR: 'model',
        RUNNER_MODEL_URL: 'https://api.example.com/v1',
        RUNNER_MODEL: 'large',
        RUNNER_MODEL_API_KEY: 'sk-123',
        RUNNER_MODEL_SYSTEM_PROMPT: 'You review code.',
        RUNNER_MODEL_MAX_TOKENS: '4096',
        RUNNER_MODEL_TEMPERATURE: '0.2',
        RUNNER_MODEL_SESSION: 'agent',
        RUNNER_COMPACT_PROMPT: 'Summarise.',
      },
      expected: {
        executor: {
          type: 'model',
          url: 'https://api.example.com/v1',
          model: 'large',
          apiKey: 'sk-123',
          systemPrompt: 'You review code.',
          maxTokens: 4096,
          temperature: 0.2,
          session: 'agent',
          compactPrompt: 'Summarise.',
        },
      },
    },
    {
      name: 'a compact command and prompt',
      env: {
        RUNNER_COMMAND: '["claude","-p"]',
        RUNNER_COMPACT_COMMAND: '["claude","-p","--continue"]',
        RUNNER_COMPACT_PROMPT: '/compact keep the plan',
      },
      expected: {
        executor: {
          type: 'command',
          command: ['claude', '-p'],
          compactCommand: ['claude', '-p', '--continue'],
          compactPrompt: '/compact keep the plan',
        },
      },
    },
    {
      name: 'a compact command as a shell line',
      env: { RUNNER_COMPACT_COMMAND: 'agent compact' },
      expected: { executor: { type: 'command', command: ['sh', '-c', 'cat'], compactCommand: ['sh', '-c', 'agent compact'] } },
    },
    { name: 'no resource reports', env: { RUNNER_RESOURCE_REPORT_SECONDS: '0' }, expected: { resourceReportMs: 0 } },
    { name: 'progress every 30 s', env: { RUNNER_PROGRESS_SECONDS: '30' }, expected: { progressMs: 30_000 } },
    { name: 'no progress in the status', env: { RUNNER_PROGRESS_SECONDS: '0' }, expected: { progressMs: 0 } },
    { name: 'no refusal reports', env: { RUNNER_REFUSAL_REPORT_SECONDS: '0' }, expected: { refusalReportMs: 0 } },
    {
      name: 'a grace period and a log level',
      env: { RUNNER_SHUTDOWN_GRACE_SECONDS: '0', RUNNER_LOG_LEVEL: 'debug' },
      expected: { shutdownGraceMs: 0, logLevel: 'debug' },
    },
    {
      name: 'empty values count as unset',
      env: { RUNNER_EXECUTOR: '', RUNNER_SHUTDOWN_GRACE_SECONDS: '' },
      expected: { executor: { type: 'command', command: ['sh', '-c', 'cat'] }, shutdownGraceMs: 20_000 },
    },
    {
      name: 'where the API server is, without runner settings in the command environment',
      env: { KUBECONFIG: '/k', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', RUNNER_LOG_LEVEL: 'warn' },
      expected: {
        kubeEnvironment: { KUBECONFIG: '/k', HOME: undefined, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        commandEnv: { ...base, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      },
    },
  ])('$name', ({ env, expected }) => {
    expect(runnerConfig({ ...base, ...env })).toMatchObject(expected);
  });

  it.each([
    { name: 'no agent', env: { AGENT_NAMESPACE: 'n' }, message: 'AGENT_NAME: required' },
    { name: 'an agent name that is not a DNS label', env: { ...base, AGENT_NAME: 'Bad_Name' }, message: 'AGENT_NAME: must be a DNS label' },
    { name: 'a namespace too long', env: { ...base, AGENT_NAMESPACE: 'n'.repeat(64) }, message: 'AGENT_NAMESPACE: must be a DNS label' },
    { name: 'an unknown executor', env: { ...base, RUNNER_EXECUTOR: 'grpc' }, message: 'RUNNER_EXECUTOR: must be command, http or model' },
    {
      name: 'model without a URL or a model',
      env: { ...base, RUNNER_EXECUTOR: 'model' },
      message:
        'RUNNER_MODEL_URL (the API base URL, such as http://vllm.models:8000/v1) and RUNNER_MODEL (the model name the endpoint serves) required with RUNNER_EXECUTOR=model',
    },
    {
      name: 'model without a model name',
      env: { ...base, RUNNER_EXECUTOR: 'model', RUNNER_MODEL_URL: 'http://o:11434/v1' },
      message: 'RUNNER_MODEL (the model name the endpoint serves) required',
    },
    {
      name: 'a model URL that is not one',
      env: { ...base, RUNNER_MODEL_URL: 'vllm:8000' },
      message: 'RUNNER_MODEL_URL: must be an http or https URL',
    },
    {
      name: 'a model URL of another scheme',
      env: { ...base, RUNNER_MODEL_URL: 'ftp://vllm/v1' },
      message: 'RUNNER_MODEL_URL: must be an http or https URL',
    },
    {
      name: 'max tokens of 0',
      env: { ...base, RUNNER_MODEL_MAX_TOKENS: '0' },
      message: 'RUNNER_MODEL_MAX_TOKENS: must be a whole number of tokens, 1 or more',
    },
    {
      name: 'fractional max tokens',
      env: { ...base, RUNNER_MODEL_MAX_TOKENS: '1e3' },
      message: 'RUNNER_MODEL_MAX_TOKENS: must be a whole number',
    },
    {
      name: 'a temperature too high',
      env: { ...base, RUNNER_MODEL_TEMPERATURE: '2.5' },
      message: 'RUNNER_MODEL_TEMPERATURE: must be a number from 0 to 2',
    },
    {
      name: 'a temperature that is not a number',
      env: { ...base, RUNNER_MODEL_TEMPERATURE: 'warm' },
      message: 'RUNNER_MODEL_TEMPERATURE: must be a number from 0 to 2',
    },
    {
      name: 'an unknown session',
      env: { ...base, RUNNER_MODEL_SESSION: 'forever' },
      message: 'RUNNER_MODEL_SESSION: must be task (a fresh conversation per task) or agent',
    },
    {
      name: 'a compact command that is not JSON',
      env: { ...base, RUNNER_COMPACT_COMMAND: '["claude", ' },
      message: 'RUNNER_COMPACT_COMMAND must be a JSON array of strings',
    },
    { name: 'an empty JSON command', env: { ...base, RUNNER_COMMAND: '[]' }, message: 'RUNNER_COMMAND must be a JSON array of strings' },
    { name: 'a URL that is not one', env: { ...base, RUNNER_HTTP_URL: 'not a url' }, message: 'RUNNER_HTTP_URL: must be a URL' },
    {
      name: 'http without a URL',
      env: { ...base, RUNNER_EXECUTOR: 'http' },
      message: 'RUNNER_HTTP_URL is required with RUNNER_EXECUTOR=http',
    },
    {
      name: 'a fractional grace period',
      env: { ...base, RUNNER_SHUTDOWN_GRACE_SECONDS: '1.5' },
      message: 'RUNNER_SHUTDOWN_GRACE_SECONDS: must be a whole number',
    },
    {
      name: 'resource reports too often',
      env: { ...base, RUNNER_RESOURCE_REPORT_SECONDS: '5' },
      message: 'RUNNER_RESOURCE_REPORT_SECONDS: must be 0 (no reports) or a whole number of seconds from 15 to 3600',
    },
    {
      name: 'refusal reports of a fraction of a second',
      env: { ...base, RUNNER_REFUSAL_REPORT_SECONDS: '0.5' },
      message: 'RUNNER_REFUSAL_REPORT_SECONDS: must be 0 (no reports) or a whole number of seconds from 1 to 3600',
    },
    {
      name: 'progress too often',
      env: { ...base, RUNNER_PROGRESS_SECONDS: '1' },
      message: 'RUNNER_PROGRESS_SECONDS: must be 0 (no progress in the Task status) or a whole number of seconds from 2 to 3600',
    },
    {
      name: 'a grace period too long',
      env: { ...base, RUNNER_SHUTDOWN_GRACE_SECONDS: '3601' },
      message: 'RUNNER_SHUTDOWN_GRACE_SECONDS: must be a whole number',
    },
    { name: 'an unknown log level', env: { ...base, RUNNER_LOG_LEVEL: 'loud' }, message: 'RUNNER_LOG_LEVEL: must be one of trace' },
    {
      name: 'a command that is not a list of strings',
      env: { ...base, RUNNER_COMMAND: '[1]' },
      message: 'RUNNER_COMMAND must be a JSON array of strings',
    },
  ])('refuses $name', ({ env, message }) => {
    expect(() => runnerConfig(env)).toThrow(message);
  });

  it('never passes the model key to a command', () => {
    const config = runnerConfig({ ...base, RUNNER_MODEL_API_KEY: 'sk-123', LLM_MODEL: 'large' });
    expect(config.commandEnv).toEqual({ ...base, LLM_MODEL: 'large' });
  });

  it('names every problem at once', () => {
    expect(() => runnerConfig({ RUNNER_LOG_LEVEL: 'loud' })).toThrow(/AGENT_NAME: required; AGENT_NAMESPACE: required; RUNNER_LOG_LEVEL/);
  });
});
