import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { watchListQuery } from '../../operator/src/runtime/cache/informer.ts';
import { ApiError } from '../../operator/src/runtime/errors.ts';
import { kubectlOk } from './kubectl.ts';
import { testClient } from './runtime.ts';
import { waitFor } from './wait.ts';

const repo = path.resolve(import.meta.dirname, '../..');

export interface YamlDoc {
  file: string;
  doc: Record<string, unknown>;
}

/** All YAML documents of the files in a folder of the repository, in file order. */
export function loadYamlDir(folder: string): YamlDoc[] {
  const dir = path.join(repo, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))
        .map((d) => d.toJS() as Record<string, unknown> | null)
        .filter((doc) => doc !== null)
        .map((doc) => ({ file, doc })),
    );
}

/**
 * Installs (or updates) the generated CRDs the way a user would, with
 * `kubectl apply --server-side`, and waits until each is Established.
 */
export async function installCrds(): Promise<void> {
  await kubectlOk('apply', '--server-side', '--force-conflicts', '--field-manager=agent-orchestrator-tests', '-f', path.join(repo, 'crds'));
  await kubectlOk('wait', '--for=condition=Established', '--timeout=60s', '-f', path.join(repo, 'crds'));
  await waitServedToWatchLists();
}

/**
 * Established is not yet served: until a new CRD's watch cache has initialized, the API
 * server answers a watch-list 429 "storage is (re)initializing" (lists are served from
 * etcd meanwhile). An operator started then retries its informers, and a test counting
 * its requests would count the retry.
 */
async function waitServedToWatchLists(): Promise<void> {
  const client = testClient();
  try {
    for (const { doc } of loadYamlDir('crds')) {
      const spec = doc.spec as { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
      for (const version of spec.versions.filter((v) => v.served)) {
        const collection = `/apis/${spec.group}/${version.name}/${spec.names.plural}`;
        await waitFor(`${collection} served to a watch-list`, async () => {
          try {
            for await (const _event of client.watch(collection, { ...watchListQuery({}), timeoutSeconds: 1 }, AbortSignal.timeout(10_000)))
              break;
            return true;
          } catch (err) {
            if (err instanceof ApiError && err.status === 429) return undefined;
            throw err;
          }
        });
      }
    }
  } finally {
    await client.close();
  }
}
