import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { isNotFound } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { dockerFromHost } from '../../support/docker.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const docker = dockerFromHost(inject('dockerHost'));
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const RUNNER_IMAGE = 'agent-orchestrator/runner:dev';

type AgentObj = KubeObject & { status?: { phase?: string; workload?: { id?: string } } };
type TaskObj = KubeObject & { status?: { phase?: string; result?: { output?: string; exitCode?: number } } };

// What a coding agent does with its workspace, with the REAL runner image: a task writes
// a file there (with a key from a Secret), the agent sleeps (its container is removed),
// wakes in a new container, and the next task reads the file back.
describe('a docker agent’s workspace, end to end', () => {
  beforeAll(installCrds);
  const ns = useNamespace('docker-workspace-');
  let operator: RunningOperator | undefined;
  const labels = (): string[] => [`agents.orchestrator.dev/namespace=${ns.name}`, 'agents.orchestrator.dev/name=writer'];
  beforeAll(async () => {
    operator = await startOperator(ns.name, {
      AO_DOCKER_HOST: inject('dockerHost'),
      AO_AGENT_STARTUP_GRACE: '60',
      AO_AGENT_DRAIN_GRACE: '10',
    });
  });
  afterAll(async () => {
    await operator?.stop();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
    for (const v of (await docker.listVolumes({ filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } })).Volumes) {
      await docker.getVolume(v.Name).remove();
    }
  });

  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const phaseIs = (name: string, phase: string) => async (): Promise<AgentObj | undefined> => {
    const a = await get(name);
    return a.status?.phase === phase ? a : undefined;
  };
  const containers = async (): Promise<string[]> =>
    (await docker.listContainers({ all: true, filters: { label: labels() } })).map((c) => c.Id);
  const volumes = async (): Promise<string[]> => (await docker.listVolumes({ filters: { label: labels() } })).Volumes.map((v) => v.Name);
  const patchSpec = (spec: Record<string, unknown>): Promise<unknown> =>
    client.request('PATCH', objectPath(Agents, ns.name, 'writer'), { body: { spec }, contentType: 'application/merge-patch+json' });

  async function runTask(name: string, input: string, payload: Record<string, unknown>): Promise<TaskObj> {
    await client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['workspace'], input, payload } },
    });
    return waitFor(
      `task ${name} to succeed`,
      async () => {
        const t = await client.request<TaskObj>('GET', objectPath(Tasks, ns.name, name));
        if (t.status?.phase === 'Failed') throw new Error(`task ${name} failed: ${JSON.stringify(t.status)}`);
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 60_000 },
    );
  }

  it('writes a file in one container, sleeps, wakes in another and reads it back; the volume goes with the Agent', async () => {
    const key = `sk-${randomBytes(6).toString('hex')}`;
    await client.request('POST', `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'llm' }, stringData: { 'api-key': key } },
    });
    // The runner runs as 65532; the workspace is the volume's root, made writable for it.
    const script =
      'case "$TASK_PAYLOAD" in *write*) { cat; echo "key=$API_KEY"; } > /workspace/notes.txt && cat /workspace/notes.txt ;; *) cat /workspace/notes.txt ;; esac';
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'writer' },
        spec: {
          capabilities: ['workspace'],
          runtime: {
            type: 'docker',
            image: RUNNER_IMAGE,
            docker: { host: inject('dockerHost') },
            env: [
              { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'llm', key: 'api-key' } } },
              { name: 'RUNNER_COMMAND', value: script },
            ],
            workspace: {},
          },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 4 },
        },
      },
    });
    const first = await waitFor('Ready', phaseIs('writer', 'Ready'), { timeoutMs: 90_000 });
    const written = await runTask('write', 'hello from the first container\n', { op: 'write' });
    expect(written.status?.result).toEqual({ output: `hello from the first container\nkey=${key}\n`, exitCode: 0 });
    expect(await volumes()).toEqual([`ao.${ns.name}.writer.workspace`]);

    await patchSpec({ desiredState: 'Sleeping' });
    await waitFor(
      'asleep, its container gone',
      async () => ((await get('writer')).status?.phase === 'Sleeping' && (await containers()).length === 0 ? true : undefined),
      { timeoutMs: 60_000 },
    );
    expect(await volumes()).toEqual([`ao.${ns.name}.writer.workspace`]);

    await patchSpec({ desiredState: 'Active' });
    const woken = await waitFor('Ready again', phaseIs('writer', 'Ready'), { timeoutMs: 90_000 });
    expect(woken.status?.workload?.id).not.toBe(first.status?.workload?.id);
    const read = await runTask('read', '', { op: 'read' });
    expect(read.status?.result?.output).toBe(written.status?.result?.output);

    await client.request('DELETE', objectPath(Agents, ns.name, 'writer'));
    await waitFor(
      'the Agent, its container and its volume to be gone',
      async () => {
        const gone = await get('writer').then(
          () => false,
          (err: unknown) => isNotFound(err),
        );
        return gone && (await containers()).length === 0 && (await volumes()).length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });
});
