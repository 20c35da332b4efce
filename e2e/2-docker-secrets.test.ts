import { createHash, randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { FILES_DIR } from '../operator/src/runtimes/docker/agent-files.ts';
import { containerName } from '../operator/src/runtimes/docker/labels.ts';
import { firstFileOf } from '../operator/src/runtimes/docker/tar.ts';
import { dockerFromHost } from '../test/support/docker.ts';
import { tokenKubeConfig } from '../test/support/identities.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../test/support/kube.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[] } };
type TaskObj = KubeObject & { status?: { phase?: string; result?: { output?: string; exitCode?: number } } };
type EventObj = KubeObject & { type: string; reason: string; note?: string; regarding?: { name?: string } };

// e2e/values.yaml lists llm-key in agents.docker.secrets: the installed operator may read
// that Secret by name, and no other (docs/adr/0014-docker-agent-secrets.md). Docker agents
// run on the local plane only (kind has no Docker engine for the operator).
describe.skipIf(inject('e2e').mode === 'kind')('a docker agent’s Secret under the chart’s RBAC', () => {
  const ns = useNamespace('e2e-secrets-');
  const secret = (name: string, data: Record<string, string>): Promise<unknown> =>
    client.request('POST', `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: data },
    });
  const agent = (name: string, secretName: string): Promise<unknown> =>
    client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: [name],
          runtime: {
            type: 'docker',
            image: 'agent-orchestrator/runner:dev',
            env: [
              { name: 'RUNNER_COMMAND', value: '["sh"]' },
              { name: 'LLM_API_KEY', valueFrom: { secretKeyRef: { name: secretName, key: 'api-key' } } },
            ],
          },
          heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
        },
      },
    });
  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));

  it('runs a task with the API key from a Secret the chart lists', async () => {
    const key = randomBytes(16).toString('hex');
    await secret('llm-key', { 'api-key': key });
    await agent('coder', 'llm-key');
    await client.request('POST', collectionPath(Tasks, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Task',
        metadata: { name: 'key-hash' },
        spec: { requiredCapabilities: ['coder'], input: 'printf %s "$LLM_API_KEY" | sha256sum' },
      },
    });
    const done = await waitFor(
      'the task to succeed',
      async () => {
        const t = await client.request<TaskObj>('GET', objectPath(Tasks, ns.name, 'key-hash'));
        if (t.status?.phase === 'Failed') throw new Error(`key-hash failed: ${JSON.stringify(t.status)}`);
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 120_000, describe: async () => JSON.stringify((await get('coder')).status) },
    );
    expect(done.status?.result?.exitCode).toBe(0);
    expect(done.status?.result?.output?.split(/\s/)[0]).toBe(createHash('sha256').update(key).digest('hex'));
  });

  // What the runner in coder's container reaches the API server as: the token the operator
  // copied in, asked about itself (SelfSubjectReview, SelfSubjectAccessReview) with no
  // other credential in the test.
  it('gives the docker agent’s runner its own identity: agent-coder, allowed its own and nothing of others', async () => {
    const container = dockerFromHost(inject('e2e').dockerHost).getContainer(containerName({ namespace: ns.name, name: 'coder', uid: '' }));
    const archive = await container.getArchive({ path: `${FILES_DIR}/token` });
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    const token = firstFileOf(Buffer.concat(chunks))?.toString('utf8').trim() ?? '';
    expect(token).not.toBe('');
    const admin = new KubeConfig();
    admin.loadFromFile(inject('e2e').kubeconfig);
    const coder = new RestClient(tokenKubeConfig(admin, 'coder', token));

    const me = await coder.request<{ status: { userInfo: { username: string } } }>(
      'POST',
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } },
    );
    expect(me.status.userInfo.username).toBe(`system:serviceaccount:${ns.name}:agent-coder`);

    const rows: [verb: string, group: string, resource: string, name: string, allowed: boolean][] = [
      ['get', 'agents.orchestrator.dev', 'agents', 'coder', true],
      ['get', 'coordination.k8s.io', 'leases', 'agent-coder', true],
      ['get', 'agents.orchestrator.dev', 'agents', 'outsider', false],
      ['update', 'coordination.k8s.io', 'leases', 'agent-outsider', false],
      ['list', 'agents.orchestrator.dev', 'tasks', '', false],
      ['get', 'agents.orchestrator.dev', 'tasks', 'someone-elses', false],
      ['get', '', 'secrets', 'llm-key', false],
      ['list', '', 'secrets', '', false],
      ['create', '', 'pods', '', false],
      ['create', '', 'serviceaccounts/token', 'agent-outsider', false],
    ];
    const answers = [];
    for (const [verb, group, resource, name] of rows) {
      const [plural = '', subresource] = resource.split('/');
      const review = await coder.request<{ status: { allowed: boolean } }>(
        'POST',
        '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
        {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: {
              resourceAttributes: {
                namespace: ns.name,
                verb,
                group,
                resource: plural,
                ...(subresource ? { subresource } : {}),
                ...(name ? { name } : {}),
              },
            },
          },
        },
      );
      answers.push([verb, resource, name, review.status.allowed]);
    }
    expect(answers).toEqual(rows.map(([verb, , resource, name, allowed]) => [verb, resource, name, allowed]));
  });

  it('reports a Secret the chart does not list on the Agent, naming the chart value, with a Warning Event', async () => {
    await secret('unlisted-key', { 'api-key': 'never-read' });
    await agent('outsider', 'unlisted-key');
    const failed = await waitFor(
      'outsider Failed with SecretForbidden',
      async () => {
        const a = await get('outsider');
        const ready = a.status?.conditions?.find((c) => c.type === 'Ready');
        return a.status?.phase === 'Failed' && ready?.reason === 'SecretForbidden' ? ready : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(failed.message).toContain(
      `env LLM_API_KEY: the operator may not read Secret unlisted-key in namespace ${ns.name}: add unlisted-key to the chart value agents.docker.secrets`,
    );
    const events = await waitFor('the Warning Event', async () => {
      const list = await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
      const found = list.items.filter((e) => e.regarding?.name === 'outsider' && e.type === 'Warning' && e.reason === 'SecretForbidden');
      return found.length ? found : undefined;
    });
    expect(events).toHaveLength(1);
    expect(events[0]?.note).toContain('agents.docker.secrets');
  });
});
