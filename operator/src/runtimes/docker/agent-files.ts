import type Docker from 'dockerode';
import { type Owner, ownerLookups, resolveOwner } from './container-user.ts';
import { isNotFound } from './docker-errors.ts';
import { type TarEntry, firstFileOf, tarArchive } from './tar.ts';

/** Where an agent finds the files the operator gives it (kubeconfig, token). */
export const FILES_DIR = '/var/run/agent-orchestrator';

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

async function readFile(container: Docker.Container, path: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const stream = await container.getArchive({ path, ...(signal ? { abortSignal: signal } : {}) });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return firstFileOf(Buffer.concat(chunks))?.toString('utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The uid and gid the container's process runs as, so it can read files of mode 0400. */
export async function ownerOf(container: Docker.Container, user: string, signal?: AbortSignal): Promise<Owner> {
  const needs = ownerLookups(user);
  const passwd = needs.passwd ? await readFile(container, '/etc/passwd', signal) : undefined;
  const group = needs.group ? await readFile(container, '/etc/group', signal) : undefined;
  return resolveOwner(user, { passwd, group });
}

/**
 * Writes `files` into FILES_DIR of a created or running container, readable only by the
 * user it runs as. The archive is unpacked at the deepest part of FILES_DIR that exists,
 * creating the rest: unpacking a directory entry over an existing path would replace a
 * symlink there (/var/run -> /run in most images) with an empty directory.
 */
export async function copyAgentFiles(
  container: Docker.Container,
  user: string,
  files: Readonly<Record<string, string>>,
  mtime: number,
  signal?: AbortSignal,
): Promise<void> {
  const names = Object.keys(files);
  if (names.length === 0) return;
  const bad = names.find((name) => !FILE_NAME.test(name));
  if (bad !== undefined) throw new Error(`invalid agent file name ${JSON.stringify(bad)}: expected letters, digits, '.', '_' or '-'`);
  const owner = await ownerOf(container, user, signal);
  const parts = FILES_DIR.split('/').filter((part) => part !== '');
  for (let depth = parts.length; depth >= 0; depth--) {
    const missing = parts.slice(depth);
    const entries: TarEntry[] = missing.map((_, i) => ({
      type: 'dir',
      path: missing.slice(0, i + 1).join('/'),
      mode: i === missing.length - 1 ? 0o700 : 0o755,
    }));
    for (const name of names) {
      entries.push({ type: 'file', path: [...missing, name].join('/'), mode: 0o400, content: files[name] ?? '' });
    }
    const archive = tarArchive(entries, { ...owner, mtime });
    try {
      await container.putArchive(archive, {
        path: `/${parts.slice(0, depth).join('/')}`,
        noOverwriteDirNonDir: true,
        ...(signal ? { abortSignal: signal } : {}),
      });
      return;
    } catch (err) {
      // 404 means this part of the path does not exist yet: go one level up.
      if (!isNotFound(err) || depth === 0) throw err;
    }
  }
}
