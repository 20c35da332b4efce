import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';

const main = path.resolve(import.meta.dirname, '../../operator/src/main.ts');

function runMain(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('operator entry point', () => {
  it('reaches the API server from its kubeconfig and logs JSON', () => {
    const r = runMain({ KUBECONFIG: inject('kubeconfig'), AO_LOG_LEVEL: 'info' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const line = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'connected to the API server', version: 'v1.34.4', level: 30 });
    expect(line.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('exits 2 naming the setting when the configuration is invalid', () => {
    const r = runMain({ KUBECONFIG: inject('kubeconfig'), AO_LOG_LEVEL: 'chatty' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--log-level \/ AO_LOG_LEVEL/);
    expect(r.stdout).toBe('');
  });
});
