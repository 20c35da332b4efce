import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { DockerRuntime } from '../../operator/src/runtimes/docker/docker-runtime.ts';
import { NAMESPACE_LABEL, UID_LABEL, labelFilter } from '../../operator/src/runtimes/docker/labels.ts';
import { firstFileOf } from '../../operator/src/runtimes/docker/tar.ts';
import { type AgentRef, WorkloadError, type WorkloadSpec } from '../../operator/src/runtimes/runtime.ts';
import { BUSYBOX_IMAGE, dockerFromHost } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const endpoint = inject('dockerHost');
const docker = dockerFromHost(endpoint);
// One namespace label per run: cleanup removes exactly this file's containers and volumes.
const namespace = `dockerws-${randomUUID().slice(0, 8)}`;
// The runner image: a shell, and a process that runs as 65532 like every agent built on it.
const RUNNER_IMAGE = 'agent-orchestrator/runner:dev';

const newAgent = (name: string): AgentRef => ({ namespace, name: `${name}-${randomUUID().slice(0, 6)}`, uid: randomUUID() });
const runtime = (): DockerRuntime => new DockerRuntime({ docker, endpoint, network: 'none', pullPolicy: 'Never' });
const shell = (agent: AgentRef, script: string, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec => ({
  agent,
  image: RUNNER_IMAGE,
  command: ['sh', '-c', `${script}; sleep 3600`],
  env: [],
  specHash: 'hash-1',
  workspace: { mountPath: '/workspace' },
  ...overrides,
});

/** A container with no workspace, for what the engine refuses. */
const plain = (agent: AgentRef, overrides: Partial<WorkloadSpec>): WorkloadSpec => ({
  agent,
  image: BUSYBOX_IMAGE,
  command: ['true'],
  env: [],
  specHash: 'hash-1',
  ...overrides,
});

async function readInContainer(id: string, path: string): Promise<string | undefined> {
  try {
    const stream = await docker.getContainer(id).getArchive({ path });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
    return firstFileOf(Buffer.concat(chunks))?.toString('utf8');
  } catch {
    return undefined;
  }
}

const volumesOf = async (labels: Record<string, string>): Promise<string[]> =>
  (await docker.listVolumes({ filters: labelFilter(labels) })).Volumes.map((v) => v.Name);

async function cleanUp(): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: labelFilter({ [NAMESPACE_LABEL]: namespace }) })) {
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  }
  for (const name of await volumesOf({ [NAMESPACE_LABEL]: namespace })) await docker.getVolume(name).remove();
}

describe('DockerRuntime workspaces against a real Docker engine', () => {
  afterEach(cleanUp);
  afterAll(cleanUp);

  it('keeps a named volume the container user writes to across removal and a new container, until release', async () => {
    const rt = runtime();
    const agent = newAgent('ws');
    // Where the image has no directory: the engine would make the volume root's.
    const spec = shell(agent, 'id -u >> /home/agent/work/who', {
      workspace: { mountPath: '/home/agent/work' },
      workingDir: '/home/agent/work',
    });
    const first = await rt.ensure(spec);
    expect(await waitFor('the first write', async () => readInContainer(first.id ?? '', '/home/agent/work/who'))).toBe('65532\n');
    const volume = `ao.${namespace}.${agent.name}.workspace`;
    expect(await volumesOf({ [UID_LABEL]: agent.uid })).toEqual([volume]);
    const { Config, Mounts } = await docker.getContainer(first.id ?? '').inspect();
    expect(Config.WorkingDir).toBe('/home/agent/work');
    expect(Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: volume, Destination: '/home/agent/work', RW: true })]);
    expect(await rt.listWorkspaces()).toContainEqual(agent);

    // Asleep: the container goes, the volume stays; awake: a new container finds the file.
    await rt.remove(agent);
    expect(await rt.observe(agent)).toBeUndefined();
    expect(await volumesOf({ [UID_LABEL]: agent.uid })).toEqual([volume]);
    const second = await rt.ensure(spec);
    expect(second.id).not.toBe(first.id);
    expect(
      await waitFor('the second write', async () => {
        const text = await readInContainer(second.id ?? '', '/home/agent/work/who');
        return text === '65532\n65532\n' ? text : undefined;
      }),
    ).toBe('65532\n65532\n');

    // Deleted: the volume goes once the container has.
    await rt.remove(agent);
    await rt.release(agent);
    expect(await volumesOf({ [UID_LABEL]: agent.uid })).toEqual([]);
    await expect(rt.release(agent)).resolves.toBeUndefined();
  });

  it('replaces the volume of an earlier Agent of the same name instead of handing its files over', async () => {
    const rt = runtime();
    const previous = newAgent('namesake');
    const old = await rt.ensure(shell(previous, 'echo old > /workspace/secret'));
    await waitFor('the old write', async () => readInContainer(old.id ?? '', '/workspace/secret'));
    const current = { ...previous, uid: randomUUID() };
    const status = await rt.ensure(shell(current, 'ls -A /workspace > /tmp/listing'));
    const listing = await waitFor('the listing', async () => readInContainer(status.id ?? '', '/tmp/listing'));
    expect(listing).toBe('');
    expect(await volumesOf({ [UID_LABEL]: previous.uid })).toEqual([]);
    expect(await volumesOf({ [UID_LABEL]: current.uid })).toEqual([`ao.${namespace}.${current.name}.workspace`]);
  });

  it('gives an ephemeral workspace an anonymous volume that goes with its container', async () => {
    const rt = runtime();
    const agent = newAgent('eph');
    const status = await rt.ensure(shell(agent, 'id -u > /scratch/who', { workspace: { mountPath: '/scratch', ephemeral: true } }));
    expect(await waitFor('the write', async () => readInContainer(status.id ?? '', '/scratch/who'))).toBe('65532\n');
    const [mount] = (await docker.getContainer(status.id ?? '').inspect()).Mounts;
    expect(mount).toMatchObject({ Type: 'volume', Destination: '/scratch' });
    expect(await volumesOf({ [UID_LABEL]: agent.uid })).toEqual([]);
    await rt.remove(agent);
    await expect(docker.getVolume(mount?.Name ?? '').inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('reports an engine runtime the daemon does not know as InvalidSpec, and GPUs it cannot give as StartError', async () => {
    const rt = runtime();
    const sandboxed = await rt.ensure(plain(newAgent('runsc'), { runtimeClassName: 'no-such-runtime' })).catch((e: unknown) => e);
    expect(sandboxed).toBeInstanceOf(WorkloadError);
    expect(sandboxed).toMatchObject({ reason: 'InvalidSpec' });
    expect((sandboxed as Error).message).toMatch(/^creating container ao\.\S+: Unknown runtime specified no-such-runtime/);
    // This engine has no nvidia device driver: the request reaches it and is refused at start.
    const gpu = await rt.ensure(plain(newAgent('gpu'), { resources: { limits: { 'nvidia.com/gpu': 1 } } })).catch((e: unknown) => e);
    expect(gpu).toBeInstanceOf(WorkloadError);
    expect(gpu).toMatchObject({ reason: 'StartError' });
    expect((gpu as Error).message).toMatch(/could not select device driver "nvidia" with capabilities: \[\[gpu\]\]/);
  });
});
