import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminKubeConfig, tokenKubeConfig } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { RunnerProcess } from '../../support/runner-process.ts';
import { waitFor } from '../../support/wait.ts';

// A kubeconfig whose token the API server does not know (a typo, a revoked or expired
// token): the operator and the runner must say which credentials were refused.
describe('a kubeconfig with a bad token', () => {
  let kubeconfig: string;
  const processes: { stop(): Promise<void> }[] = [];
  beforeAll(async () => {
    const kc = tokenKubeConfig(adminKubeConfig(), 'intruder', 'not-a-token-the-api-server-issued');
    kubeconfig = path.join(await mkdtemp(path.join(tmpdir(), 'bad-token-')), 'config');
    await writeFile(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
  });

  it('stops the operator at start with a message naming the kubeconfig, its context and the 401', async () => {
    const op = new OperatorProcess({ KUBECONFIG: kubeconfig, AO_LEADER_ELECT: 'false', AO_WATCH_NAMESPACES: 'default' });
    processes.push(op);
    // Not a retry loop that never becomes ready: it exits, so its restarts show the problem.
    await waitFor('the operator to exit', () => (op.running ? undefined : true), {
      timeoutMs: 60_000,
      describe: () => op.stderr.concat(op.logs.slice(-3).map((l) => JSON.stringify(l))).join('\n'),
    });
    expect(await op.exited).toEqual({ code: 1, signal: null });
    const said = op.stderr.join('\n');
    expect(said).toContain(`kubeconfig ${kubeconfig}`);
    expect(said).toContain('context intruder');
    expect(said).toContain('401 Unauthorized');
    expect(said).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('keeps the runner retrying, logging at error level which credentials the API server refused', async () => {
    const runner = new RunnerProcess({
      AGENT_NAME: 'anyone',
      AGENT_NAMESPACE: 'default',
      KUBECONFIG: kubeconfig,
      RUNNER_LOG_LEVEL: 'info',
    });
    processes.push(runner);
    const lines = await waitFor(
      'two refused attempts logged',
      () => {
        const refused = runner.logs.filter((l) => l.level === 50 && String(l.msg).includes('refused the credentials'));
        return refused.length >= 2 ? refused : undefined;
      },
      { timeoutMs: 30_000, describe: () => JSON.stringify(runner.logs.slice(-3)) },
    );
    expect(lines[0]?.msg).toContain(`kubeconfig ${kubeconfig}`);
    expect(lines[0]?.msg).toContain('401 Unauthorized');
    // A docker agent's token is replaced by the operator while its runner waits: it retries.
    expect(runner.running).toBe(true);
  });
});
