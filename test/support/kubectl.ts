import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl, the user's own tool, against the test cluster as admin. */
export async function kubectl(...args: string[]): Promise<KubectlResult> {
  // A fresh discovery cache per call: CRDs come and go during a run, and a cached
  // discovery would hide new kinds and categories (and pollute ~/.kube/cache).
  const cache = await mkdtemp(path.join(tmpdir(), 'kubectl-cache-'));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      inject('kubectl'),
      ['--kubeconfig', inject('kubeconfig'), '--cache-dir', cache, ...args],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
}

/** kubectl that must succeed; its stdout. */
export async function kubectlOk(...args: string[]): Promise<string> {
  const r = await kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
