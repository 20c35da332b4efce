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
      logLevel: 'info',
      kubeEnvironment: { KUBECONFIG: undefined, HOME: '/home/r', KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined },
      commandEnv: { ...base, HOME: '/home/r', PATH: '/bin' },
    });
  });

  it.each([
    { name: 'a JSON command', env: { RUNNER_COMMAND: '["claude","-p"]' }, expected: { executor: { type: 'command', command: ['claude', '-p'] } } },
    { name: 'the http executor', env: { RUNNER_EXECUTOR: 'http', RUNNER_HTTP_URL: 'http://127.0.0.1:8000/tasks' }, expected: { executor: { type: 'http', url: 'http://127.0.0.1:8000/tasks' } } },
    { name: 'no resource reports', env: { RUNNER_RESOURCE_REPORT_SECONDS: '0' }, expected: { resourceReportMs: 0 } },
    { name: 'a grace period and a log level', env: { RUNNER_SHUTDOWN_GRACE_SECONDS: '0', RUNNER_LOG_LEVEL: 'debug' }, expected: { shutdownGraceMs: 0, logLevel: 'debug' } },
    { name: 'empty values count as unset', env: { RUNNER_EXECUTOR: '', RUNNER_SHUTDOWN_GRACE_SECONDS: '' }, expected: { executor: { type: 'command', command: ['sh', '-c', 'cat'] }, shutdownGraceMs: 20_000 } },
    {
      name: 'where the API server is, without runner settings in the command environment',
      env: { KUBECONFIG: '/k', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443', RUNNER_LOG_LEVEL: 'warn' },
      expected: { kubeEnvironment: { KUBECONFIG: '/k', HOME: undefined, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, commandEnv: { ...base, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' } },
    },
  ])('$name', ({ env, expected }) => {
    expect(runnerConfig({ ...base, ...env })).toMatchObject(expected);
  });

  it.each([
    { name: 'no agent', env: { AGENT_NAMESPACE: 'n' }, message: 'AGENT_NAME: required' },
    { name: 'an agent name that is not a DNS label', env: { ...base, AGENT_NAME: 'Bad_Name' }, message: 'AGENT_NAME: must be a DNS label' },
    { name: 'a namespace too long', env: { ...base, AGENT_NAMESPACE: 'n'.repeat(64) }, message: 'AGENT_NAMESPACE: must be a DNS label' },
    { name: 'an unknown executor', env: { ...base, RUNNER_EXECUTOR: 'grpc' }, message: 'RUNNER_EXECUTOR: must be command or http' },
    { name: 'a URL that is not one', env: { ...base, RUNNER_HTTP_URL: 'not a url' }, message: 'RUNNER_HTTP_URL: must be a URL' },
    { name: 'http without a URL', env: { ...base, RUNNER_EXECUTOR: 'http' }, message: 'RUNNER_HTTP_URL is required with RUNNER_EXECUTOR=http' },
    { name: 'a fractional grace period', env: { ...base, RUNNER_SHUTDOWN_GRACE_SECONDS: '1.5' }, message: 'RUNNER_SHUTDOWN_GRACE_SECONDS: must be a whole number' },
    { name: 'resource reports too often', env: { ...base, RUNNER_RESOURCE_REPORT_SECONDS: '5' }, message: 'RUNNER_RESOURCE_REPORT_SECONDS: must be 0 (no reports) or a whole number of seconds from 15 to 3600' },
    { name: 'a grace period too long', env: { ...base, RUNNER_SHUTDOWN_GRACE_SECONDS: '3601' }, message: 'RUNNER_SHUTDOWN_GRACE_SECONDS: must be a whole number' },
    { name: 'an unknown log level', env: { ...base, RUNNER_LOG_LEVEL: 'loud' }, message: 'RUNNER_LOG_LEVEL: must be one of trace' },
    { name: 'a command that is not a list of strings', env: { ...base, RUNNER_COMMAND: '[1]' }, message: 'RUNNER_COMMAND must be a JSON array of strings' },
  ])('refuses $name', ({ env, message }) => {
    expect(() => runnerConfig(env)).toThrow(message);
  });

  it('names every problem at once', () => {
    expect(() => runnerConfig({ RUNNER_LOG_LEVEL: 'loud' })).toThrow(/AGENT_NAME: required; AGENT_NAMESPACE: required; RUNNER_LOG_LEVEL/);
  });
});
