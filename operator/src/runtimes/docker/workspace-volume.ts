import path from 'node:path';
import type Docker from 'dockerode';
import type { AgentRef, WorkloadSpec } from '../runtime.ts';
import { WorkloadError } from '../runtime.ts';
import { ownerOf } from './agent-files.ts';
import { containerName } from './labels.ts';
import { tarArchive } from './tar.ts';

/**
 * The named volume of an Agent's persistent workspace: its container's name and a suffix,
 * so `docker volume ls` shows whose it is. Found by its labels, never remembered.
 */
export function workspaceVolumeName(agent: AgentRef): string {
  return `${containerName(agent)}.workspace`;
}

/** True when the spec asks for a volume that outlives the container. */
export function hasPersistentWorkspace(spec: WorkloadSpec): boolean {
  return spec.workspace !== undefined && spec.workspace.ephemeral !== true;
}

/**
 * The container's workspace mount: the Agent's named volume, or an anonymous one that the
 * container's removal takes with it (ephemeral, like an emptyDir).
 */
export function workspaceMounts(spec: WorkloadSpec): Docker.MountSettings[] {
  const ws = spec.workspace;
  if (!ws) return [];
  return [
    hasPersistentWorkspace(spec)
      ? { Type: 'volume', Source: workspaceVolumeName(spec.agent), Target: ws.mountPath }
      : { Type: 'volume', Source: '', Target: ws.mountPath }, // no name: anonymous
  ];
}

/**
 * Makes the workspace's root directory the container user's, before the process starts.
 * A fresh volume mounted where the image has no directory is root's, and agents run as
 * another user (the runner image as 65532): unpacking a directory entry there, with the
 * user's numeric owner, reaches the volume itself (the engine mounts volumes for archive
 * calls, creating missing parents), and does so again for a volume made by an older image.
 * Only the root is changed; what the agent wrote stays as it is.
 */
export async function ownWorkspace(
  container: Docker.Container,
  user: string,
  mountPath: string,
  mtime: number,
  signal?: AbortSignal,
): Promise<void> {
  const owner = await ownerOf(container, user, signal);
  let archive: Buffer;
  try {
    archive = tarArchive([{ type: 'dir', path: path.posix.basename(mountPath), mode: 0o755 }], { ...owner, mtime });
  } catch (err) {
    // A name longer than a tar header holds.
    throw new WorkloadError('InvalidSpec', `workspace ${mountPath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  await container.putArchive(archive, { path: path.posix.dirname(mountPath), ...(signal ? { abortSignal: signal } : {}) });
}
