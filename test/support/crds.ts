import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubectlOk } from './kubectl.ts';

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
}
