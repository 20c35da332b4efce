import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

/** SIGKILLs the test cluster's kube-apiserver and starts it again on the same etcd. */
export async function restartApiServer(): Promise<void> {
  await promisify(execFile)(path.join(repo, 'hack/control-plane.sh'), ['restart', 'kube-apiserver'], { cwd: repo });
}

async function etcd<T>(call: string, body: unknown): Promise<T> {
  const res = await fetch(`${inject('etcdUrl')}/v3/${call}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${call}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/**
 * Compacts etcd up to its current revision, as the API server does every five minutes:
 * a watch resumed from an older resourceVersion then gets 410 Gone.
 */
export async function compactEtcd(): Promise<number> {
  const { header } = await etcd<{ header: { revision: string } }>('kv/range', { key: Buffer.from('/').toString('base64') });
  const revision = Number(header.revision);
  await etcd('kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
