import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { DockerRuntime, type DockerRuntimeOptions, dockerClientFor } from '../../operator/src/runtimes/docker/docker-runtime.ts';
import { NAMESPACE_LABEL, UID_LABEL, labelFilter } from '../../operator/src/runtimes/docker/labels.ts';
import { firstFileOf } from '../../operator/src/runtimes/docker/tar.ts';
import { type AgentRef, WorkloadError, type WorkloadSpec, type WorkloadStatus } from '../../operator/src/runtimes/runtime.ts';
import { BUSYBOX_IMAGE, NODE_BASE_IMAGE, demuxLogs, dockerFromHost } from '../support/docker.ts';
import { waitFor } from '../support/wait.ts';

const endpoint = inject('dockerHost');
const docker = dockerFromHost(endpoint);
// One namespace label per run: cleanup removes exactly this file's containers.
const namespace = `dockerrt-${randomUUID().slice(0, 8)}`;
const SLEEP = ['sh', '-c', 'sleep 3600'];
const FILES_DIR = '/var/run/agent-orchestrator';

function newAgent(name: string): AgentRef {
  return { namespace, name: `${name}-${randomUUID().slice(0, 6)}`, uid: randomUUID() };
}

function specFor(agent: AgentRef, overrides: Partial<WorkloadSpec> = {}): WorkloadSpec {
  return { agent, image: BUSYBOX_IMAGE, command: SLEEP, env: [], specHash: 'hash-1', ...overrides };
}

function runtime(options: Partial<DockerRuntimeOptions> = {}): DockerRuntime {
  return new DockerRuntime({ docker, endpoint, network: 'none', pullPolicy: 'Never', ...options });
}

const containersOf = (labels: Record<string, string>): Promise<Docker.ContainerInfo[]> =>
  docker.listContainers({ all: true, filters: labelFilter(labels) });

async function logsOf(id: string): Promise<string> {
  const { stdout, stderr } = demuxLogs(await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false }));
  return stdout + stderr;
}

async function readInContainer(id: string, path: string): Promise<string | undefined> {
  const stream = await docker.getContainer(id).getArchive({ path });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return firstFileOf(Buffer.concat(chunks))?.toString('utf8');
}

// The engine's log driver can lag the exit by a moment: a status read right at the exit
// may miss the last lines (the controller's next look has them), so wait for `logged`.
const exited = (rt: DockerRuntime, agent: AgentRef, logged = ''): Promise<WorkloadStatus> =>
  waitFor(`${agent.name} to exit`, async () => {
    const status = await rt.observe(agent);
    return status?.phase === 'Exited' && (status.message ?? '').includes(logged) ? status : undefined;
  });

async function removeOurContainers(): Promise<void> {
  for (const c of await containersOf({ [NAMESPACE_LABEL]: namespace })) {
    await docker.getContainer(c.Id).remove({ force: true });
  }
}

describe('DockerRuntime against a real Docker engine', () => {
  afterEach(removeOurContainers);
  afterAll(removeOurContainers);

  it('creates one labelled container with the env and hardening, and a second ensure does not duplicate it', async () => {
    const rt = runtime();
    const agent = newAgent('create');
    const spec = specFor(agent, { env: [{ name: 'GREETING', value: 'hello world' }], specHash: 'abc123' });

    const first = await rt.ensure(spec);
    expect(first).toMatchObject({
      kind: 'Container',
      name: `ao.${namespace}.${agent.name}`,
      phase: 'Running',
      specHash: 'abc123',
      restarts: 0,
    });
    expect(first.startedAt).toBeGreaterThan(0);
    const second = await rt.ensure(spec);
    expect(second.id).toBe(first.id);

    const containers = await containersOf({ [UID_LABEL]: agent.uid });
    expect(containers.map((c) => c.Id)).toEqual([first.id]);
    const info = await docker.getContainer(first.id ?? '').inspect();
    expect(info.Config.Labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'agent-orchestrator',
      'agents.orchestrator.dev/namespace': namespace,
      'agents.orchestrator.dev/name': agent.name,
      'agents.orchestrator.dev/uid': agent.uid,
      'agents.orchestrator.dev/spec-hash': 'abc123',
    });
    expect(info.Config.Env).toContain('GREETING=hello world');
    expect(info.Config.Entrypoint).toEqual(SLEEP);
    expect(info.HostConfig).toMatchObject({
      NetworkMode: 'none',
      RestartPolicy: { Name: 'no' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
    });
  });

  it('copies the files in before the process starts, mode 0400', async () => {
    const rt = runtime({ files: async (agent) => ({ hello: `hello ${agent.name}\n`, token: 'secret-1' }) });
    const agent = newAgent('files');
    const script = `cat ${FILES_DIR}/hello; stat -c '%a %u' ${FILES_DIR}/hello ${FILES_DIR}/token; sleep 3600`;
    const status = await rt.ensure(specFor(agent, { command: ['sh', '-c', script] }));
    const log = await waitFor('the files in the log', async () => {
      const text = await logsOf(status.id ?? '');
      return text.split('\n').length >= 4 ? text : undefined;
    });
    expect(log).toBe(`hello ${agent.name}\n400 0\n400 0\n`);
  });

  it('gives the files to the user of the image (node-base runs as 65532)', async () => {
    const rt = runtime({ files: async () => ({ token: 'secret-node' }) });
    const agent = newAgent('node');
    const script = [
      `const fs = require('node:fs');`,
      `const st = fs.statSync('${FILES_DIR}/token');`,
      `console.log(fs.readFileSync('${FILES_DIR}/token', 'utf8'), process.getuid(), st.uid, (st.mode & 0o777).toString(8));`,
    ].join(' ');
    await rt.ensure(specFor(agent, { image: NODE_BASE_IMAGE, command: ['/usr/local/bin/node'], args: ['-e', script] }));
    const status = await exited(rt, agent);
    expect(status).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(await logsOf(status.id ?? '')).toBe('secret-node 65532 65532 400\n');
  });

  it('refreshes the files in a running container', async () => {
    let token = 'token-1';
    const rt = runtime({ files: async () => ({ token }) });
    const agent = newAgent('refresh');
    const { id = '' } = await rt.ensure(specFor(agent));
    expect(await readInContainer(id, `${FILES_DIR}/token`)).toBe('token-1');
    token = 'token-2';
    await rt.refreshFiles(agent);
    expect(await readInContainer(id, `${FILES_DIR}/token`)).toBe('token-2');
    await expect(rt.refreshFiles(newAgent('nothing'))).resolves.toBeUndefined();
  });

  it('observes a command that exits 1 as Exited with reason Error and its output in the message', async () => {
    const rt = runtime();
    const agent = newAgent('fail');
    await rt.ensure(specFor(agent, { command: ['sh', '-c', 'echo starting up; echo "cannot reach the model" >&2; exit 1'] }));
    const status = await waitFor('both lines in the message', async () => {
      const s = await exited(rt, agent);
      return s.message?.includes('starting up') && s.message.includes('cannot reach the model') ? s : undefined;
    });
    expect(status).toMatchObject({ phase: 'Exited', exitCode: 1, reason: 'Error', restarts: 0 });
    // The engine reads stdout and stderr through separate pipes, so their order can vary.
    expect(status.message?.split('\n').sort()).toEqual(['cannot reach the model', 'starting up']);
    // Both times are read; the engine may stamp a process that exits at once as finished
    // a hair before it was started, so only their closeness is checked.
    expect(Math.abs((status.finishedAt ?? 0) - (status.startedAt ?? Infinity))).toBeLessThan(60_000);
  });

  it('caps the message of a noisy failure at 1 KiB, keeping the last lines', async () => {
    const rt = runtime();
    const agent = newAgent('noisy');
    const padding = 'x'.repeat(80);
    const script = `i=0; while [ $i -lt 200 ]; do echo "line $i ${padding}"; i=$((i+1)); done; exit 2`;
    await rt.ensure(specFor(agent, { command: ['sh', '-c', script] }));
    const status = await exited(rt, agent, `line 199 ${padding}`);
    expect(status).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(Buffer.byteLength(status.message ?? '')).toBeLessThanOrEqual(1024);
    expect(status.message).toMatch(new RegExp(`^line \\d+ ${padding}\\n[^]*\\nline 199 ${padding}$`));
  });

  it('starts an exited container again on ensure, with the files copied again', async () => {
    let token = 'first';
    const rt = runtime({ files: async () => ({ token }) });
    const agent = newAgent('restart');
    const spec = specFor(agent, { command: ['sh', '-c', `cat ${FILES_DIR}/token; echo; exit 3`] });
    const first = await rt.ensure(spec);
    await exited(rt, agent);
    token = 'second';
    const again = await rt.ensure(spec);
    expect(again.id).toBe(first.id);
    await waitFor('the second run in the log', async () => ((await logsOf(first.id ?? '')) === 'first\nsecond\n' ? true : undefined));
    expect(await exited(rt, agent)).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(await containersOf({ [UID_LABEL]: agent.uid })).toHaveLength(1);
  });

  it('replaces a stopped container whose spec hash changed instead of starting the old spec', async () => {
    const rt = runtime();
    const agent = newAgent('rollout');
    const old = await rt.ensure(specFor(agent, { command: ['sh', '-c', 'exit 0'], specHash: 'v1' }));
    await exited(rt, agent);
    const next = await rt.ensure(specFor(agent, { specHash: 'v2' }));
    expect(next).toMatchObject({ phase: 'Running', specHash: 'v2' });
    expect(next.id).not.toBe(old.id);
    expect((await containersOf({ [UID_LABEL]: agent.uid })).map((c) => c.Id)).toEqual([next.id]);
  });

  it('adopts its container after an operator restart instead of creating another', async () => {
    const agent = newAgent('adopt');
    const created = await runtime().ensure(specFor(agent));

    const restarted = runtime();
    expect(await restarted.observe(agent)).toMatchObject({ id: created.id, phase: 'Running' });
    expect((await restarted.ensure(specFor(agent))).id).toBe(created.id);
    expect(await containersOf({ [UID_LABEL]: agent.uid })).toHaveLength(1);
  });

  it('removes the container, and removing again is a no-op', async () => {
    const rt = runtime();
    const agent = newAgent('remove');
    const { id = '' } = await rt.ensure(specFor(agent));
    await rt.remove(agent);
    expect(await rt.observe(agent)).toBeUndefined();
    expect(await containersOf({ [UID_LABEL]: agent.uid })).toEqual([]);
    await expect(docker.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect(rt.remove(agent)).resolves.toBeUndefined();
  });

  it('lists every managed container with the Agent it belongs to', async () => {
    const rt = runtime();
    const a = newAgent('list-a');
    const b = newAgent('list-b');
    const [sa, sb] = await Promise.all([rt.ensure(specFor(a)), rt.ensure(specFor(b, { command: ['sh', '-c', 'exit 4'] }))]);
    await exited(rt, b);
    const ours = (await rt.list()).filter((w) => w.agent.namespace === namespace);
    expect(ours).toHaveLength(2);
    expect(ours).toEqual(
      expect.arrayContaining([
        { agent: a, status: expect.objectContaining({ id: sa.id, phase: 'Running' }) as unknown },
        { agent: b, status: expect.objectContaining({ id: sb.id, phase: 'Exited', exitCode: 4 }) as unknown },
      ]),
    );
  });

  it('replaces an orphan that holds the name but belongs to another uid', async () => {
    const rt = runtime();
    const previous = newAgent('orphan');
    const orphan = await rt.ensure(specFor(previous));
    const current = { ...previous, uid: randomUUID() };

    const status = await rt.ensure(specFor(current));
    expect(status.id).not.toBe(orphan.id);
    expect(status.name).toBe(orphan.name);
    await expect(docker.getContainer(orphan.id ?? '').inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await rt.observe(previous)).toBeUndefined();
    expect((await containersOf({ [UID_LABEL]: current.uid })).map((c) => c.Id)).toEqual([status.id]);
  });

  it('reports a missing image as ImageNotFound with pullPolicy Never, creating nothing', async () => {
    const rt = runtime();
    const agent = newAgent('noimage');
    const image = 'agent-orchestrator/no-such-image:missing';
    const err = await rt.ensure(specFor(agent, { image })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkloadError);
    expect(err).toMatchObject({ reason: 'ImageNotFound' });
    expect((err as Error).message).toContain(image);
    expect((err as Error).message).toContain(endpoint);
    expect(await containersOf({ [UID_LABEL]: agent.uid })).toEqual([]);
  });

  it('reports an engine that cannot be reached as RuntimeUnavailable', async () => {
    const gone = 'unix:///tmp/no-such-docker.sock';
    const rt = new DockerRuntime({ docker: dockerClientFor(gone), endpoint: gone, pullPolicy: 'Never' });
    const agent = newAgent('unreachable');
    for (const call of [() => rt.observe(agent), () => rt.ensure(specFor(agent)), () => rt.remove(agent), () => rt.list()]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkloadError);
      expect(err).toMatchObject({ reason: 'RuntimeUnavailable' });
      expect((err as Error).message).toMatch(/^the Docker engine at unix:\/\/\/tmp\/no-such-docker\.sock cannot be reached: .*ENOENT/);
    }
  });

  it('sets the cpu and memory limits on the container', async () => {
    const rt = runtime();
    const agent = newAgent('limits');
    const status = await rt.ensure(specFor(agent, { resources: { limits: { cpu: '500m', memory: '64Mi' } } }));
    const { HostConfig } = await docker.getContainer(status.id ?? '').inspect();
    expect(HostConfig).toMatchObject({ NanoCpus: 500_000_000, Memory: 64 * 1024 * 1024 });
  });

  it('reports a quantity it cannot parse as InvalidSpec', async () => {
    const rt = runtime();
    const agent = newAgent('badlimits');
    await expect(rt.ensure(specFor(agent, { resources: { limits: { memory: 'lots' } } }))).rejects.toMatchObject({
      name: 'WorkloadError',
      reason: 'InvalidSpec',
    });
  });
});
