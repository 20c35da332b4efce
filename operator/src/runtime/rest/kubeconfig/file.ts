import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** A kubeconfig that cannot be used; the message names the file, the field and the fix. */
export class KubeconfigError extends Error {
  override readonly name = 'KubeconfigError';
}

export type Fields = Readonly<Record<string, unknown>>;

/** One cluster, user or context, and where it was defined ("kubeconfig FILE"), for messages. */
export interface Entry {
  fields: Fields;
  source: string;
}

/** One or more kubeconfig files merged the way kubectl merges $KUBECONFIG. */
export interface Kubeconfig {
  clusters: ReadonlyMap<string, Entry>;
  users: ReadonlyMap<string, Entry>;
  contexts: ReadonlyMap<string, Entry>;
  currentContext: string | undefined;
  files: readonly string[];
}

const SECTIONS = [
  { list: 'clusters', item: 'cluster' },
  { list: 'users', item: 'user' },
  { list: 'contexts', item: 'context' },
] as const;

// Paths in a kubeconfig are relative to the file that holds them (client-go's rule).
const PATH_FIELDS: Record<string, readonly string[]> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile', 'token-file'],
  contexts: [],
};

/** Reads and parses kubeconfig files; the first file to define a name or current-context wins. */
export async function readKubeconfigs(files: readonly string[]): Promise<Kubeconfig> {
  const merged = { clusters: new Map<string, Entry>(), users: new Map<string, Entry>(), contexts: new Map<string, Entry>() };
  let currentContext: string | undefined;
  for (const file of files) {
    const doc = await parse(file);
    for (const { list, item } of SECTIONS) {
      for (const [name, fields] of entries(doc, file, list, item)) {
        if (!merged[list].has(name))
          merged[list].set(name, { fields: absolutePaths(fields, PATH_FIELDS[list] ?? [], file), source: `kubeconfig ${file}` });
      }
    }
    const current = doc['current-context'];
    if (currentContext === undefined && typeof current === 'string' && current !== '') currentContext = current;
  }
  return { ...merged, currentContext, files };
}

async function parse(file: string): Promise<Fields> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KubeconfigError(
      `kubeconfig ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}); point KUBECONFIG at a readable file`,
    );
  }
  let doc: unknown;
  try {
    // JSON (what the operator writes for docker agents) needs no YAML parser in memory.
    if (text.trimStart().startsWith('{')) doc = JSON.parse(text);
    else doc = (await import('js-yaml')).load(text);
  } catch (err) {
    throw new KubeconfigError(`kubeconfig ${file}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new KubeconfigError(`kubeconfig ${file}: expected a mapping (apiVersion, kind: Config, clusters, users, contexts)`);
  return doc as Fields;
}

function entries(doc: Fields, file: string, list: string, item: string): [string, Fields][] {
  const value = doc[list];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new KubeconfigError(`kubeconfig ${file}: ${list} must be a list of {name, ${item}}`);
  return value.map((raw: unknown, i) => {
    const entry = (raw ?? {}) as Fields;
    const name = entry.name;
    if (typeof name !== 'string' || name === '') throw new KubeconfigError(`kubeconfig ${file}: ${list}[${i}].name is missing`);
    const fields = entry[item] ?? {};
    if (typeof fields !== 'object' || Array.isArray(fields))
      throw new KubeconfigError(`kubeconfig ${file}: ${list}[${i}].${item} must be a mapping`);
    return [name, fields as Fields];
  });
}

function absolutePaths(fields: Fields, keys: readonly string[], file: string): Fields {
  const dir = path.dirname(path.resolve(file));
  const out: Record<string, unknown> = { ...fields };
  for (const key of keys) {
    const value = out[key];
    if (typeof value === 'string' && value !== '' && !path.isAbsolute(value)) out[key] = path.join(dir, value);
  }
  return out;
}
