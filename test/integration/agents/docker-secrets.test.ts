import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { chartOperatorIdentity, type PolicyRule } from '../../support/chart-rbac.ts';
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
const OPERATOR = 'operator';

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[]; workload?: { restarts?: number } } };
type TaskObj = KubeObject & { status?: { phase?: string; result?: { output?: string; exitCode?: number } } };
type EventObj = KubeObject & { type: string; reason: string; note?: string; regarding?: { name?: string }; series?: { count: number } };

// The operator under the chart's RBAC, not as admin: the rules `helm template` renders for
// a watched namespace, bound to a ServiceAccount whose token the operator runs with. What
// the chart does not grant, the operator cannot do here either (issue 16: the Secret of a
// docker agent was read as admin in tests and refused under the chart).
describe('Secrets and envFrom of docker agents, with the operator under the chart’s RBAC', () => {
  beforeAll(installCrds);
  const ns = useNamespace('docker-secrets-');
  let operator: RunningOperator | undefined;

  let grant: (sets: string[]) => Promise<PolicyRule[]> = () => Promise.reject(new Error('no operator identity yet'));

  beforeAll(async () => {
    const identity = await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, OPERATOR);
    grant = identity.regrant;
    operator = await startOperator(
      ns.name,
      { AO_DOCKER_HOST: inject('dockerHost'), AO_AGENT_STARTUP_GRACE: '60', AO_AGENT_REMOVAL_TIMEOUT: '3' },
      [],
      identity.kubeConfig,
    );
  });
  afterAll(async () => {
    await operator?.stop();
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const ready = (a: AgentObj): Condition | undefined => a.status?.conditions?.find((c) => c.type === 'Ready');
  const describeAgent = (name: string) => async (): Promise<string> => JSON.stringify((await get(name)).status, null, 1);
  const warnings = async (agent: string): Promise<EventObj[]> =>
    (await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`)).items.filter(
      (e) => e.regarding?.name === agent && e.type === 'Warning',
    );
  const containersOf = async (name: string): Promise<string[]> =>
    (
      await docker.listContainers({
        all: true,
        filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`, `agents.orchestrator.dev/name=${name}`] },
      })
    ).map((c) => c.Id);
  const failingWith =
    (name: string, reason: string, atLeastRestarts = 0) =>
    async (): Promise<AgentObj | undefined> => {
      const a = await get(name);
      return a.status?.phase === 'Failed' && ready(a)?.reason === reason && (a.status.workload?.restarts ?? 0) >= atLeastRestarts
        ? a
        : undefined;
    };
  const createAgent = (name: string, runtime: Record<string, unknown>): Promise<unknown> =>
    client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: [name],
          runtime: {
            type: 'docker',
            image: RUNNER_IMAGE,
            docker: { host: inject('dockerHost') },
            ...runtime,
            env: [{ name: 'RUNNER_COMMAND', value: '["sh"]' }, ...((runtime.env as unknown[] | undefined) ?? [])],
          },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 4 },
        },
      },
    });
  const run = async (agent: string, task: string, input: string): Promise<TaskObj> => {
    await client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: task }, spec: { requiredCapabilities: [agent], input } },
    });
    return waitFor(
      `task ${task} to succeed`,
      async () => {
        const t = await client.request<TaskObj>('GET', objectPath(Tasks, ns.name, task));
        if (t.status?.phase === 'Failed') throw new Error(`task ${task} failed: ${JSON.stringify(t.status)}`);
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 60_000 },
    );
  };

  it('a Secret the chart does not grant: the Agent says which value to set, one Event, backing off; granted, it starts with the key', async () => {
    const key = randomBytes(16).toString('hex');
    await client.request('POST', `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'llm' }, stringData: { 'api-key': key } },
    });
    await createAgent('coder', { env: [{ name: 'LLM_API_KEY', valueFrom: { secretKeyRef: { name: 'llm', key: 'api-key' } } }] });

    // A retry after the failure is first reported (the backoff runs), and still one Event, no series.
    const first = await waitFor('coder Failed with SecretForbidden', failingWith('coder', 'SecretForbidden'), {
      timeoutMs: 60_000,
      describe: describeAgent('coder'),
    });
    const retries = (first.status?.workload?.restarts ?? 0) + 1;
    const failed = await waitFor('coder to fail again after the backoff', failingWith('coder', 'SecretForbidden', retries), {
      timeoutMs: 60_000,
      describe: describeAgent('coder'),
    });
    expect(ready(failed)?.status).toBe('False');
    expect(ready(failed)?.message).toMatch(
      /^env LLM_API_KEY: the operator may not read Secret llm in namespace docker-secrets-\S+: add llm to the chart value agents\.docker\.secrets \(docs\/agents\.md#secrets-and-envfrom\); retrying in \d+s$/,
    );
    const events = await warnings('coder');
    expect(events.map((e) => [e.reason, e.series?.count])).toEqual([['SecretForbidden', undefined]]);
    expect(events[0]?.note).toContain('add llm to the chart value agents.docker.secrets');
    expect(await containersOf('coder')).toEqual([]);

    // The chart value, rendered by the chart: get on that Secret by name, nothing more.
    const rules = await grant(['agents.docker.secrets={llm}']);
    expect(rules.filter((r) => r.resources?.includes('secrets'))).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['llm'], verbs: ['get'] },
    ]);
    const serving = await waitFor(
      'coder Ready once the chart grants llm',
      async () => {
        const a = await get('coder');
        return a.status?.phase === 'Ready' ? a : undefined;
      },
      { timeoutMs: 120_000, describe: describeAgent('coder') },
    );
    expect(ready(serving)).toMatchObject({ status: 'True', reason: 'HeartbeatRenewed' });

    const done = await run('coder', 'print-key-hash', 'printf %s "$LLM_API_KEY" | sha256sum');
    expect(done.status?.result?.output?.split(/\s/)[0]).toBe(createHash('sha256').update(key).digest('hex'));
  });

  it('envFrom: a missing Secret fails the start by name (one Event per reason), appears, and the container gets every valid key', async () => {
    await client.request('POST', `/api/v1/namespaces/${ns.name}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'model-settings' }, data: { MODEL: 'small-1', '1st-choice': 'x' } },
    });
    await createAgent('reviewer', {
      envFrom: [{ configMapRef: { name: 'model-settings' } }, { secretRef: { name: 'later' }, prefix: 'LLM_' }],
    });

    const forbidden = await waitFor('reviewer Failed: neither is granted', failingWith('reviewer', 'ConfigMapForbidden'), {
      timeoutMs: 60_000,
      describe: describeAgent('reviewer'),
    });
    expect(ready(forbidden)?.message).toContain('envFrom[0]: the operator may not read ConfigMap model-settings');
    expect(ready(forbidden)?.message).toContain('add model-settings to the chart value agents.docker.configMaps');
    expect(ready(forbidden)?.message).toContain('envFrom[1]: the operator may not read Secret later');

    await grant(['agents.docker.secrets={llm,later}', 'agents.docker.configMaps={model-settings}']);
    const missing = await waitFor('reviewer Failed: the Secret does not exist', failingWith('reviewer', 'SecretNotFound'), {
      timeoutMs: 60_000,
      describe: describeAgent('reviewer'),
    });
    expect(ready(missing)?.message).toMatch(
      /^envFrom\[1\]: Secret later not found in namespace \S+: create it, or set secretRef\.optional: true to start without it; retrying in \d+s$/,
    );
    expect((await warnings('reviewer')).map((e) => e.reason)).toEqual(['ConfigMapForbidden', 'SecretNotFound']);

    await client.request('POST', `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'later' }, stringData: { TOKEN: 'tok-1' } },
    });
    await waitFor(
      'reviewer Ready once the Secret exists',
      async () => ((await get('reviewer')).status?.phase === 'Ready' ? true : undefined),
      {
        timeoutMs: 120_000,
        describe: describeAgent('reviewer'),
      },
    );
    const skipped = (await warnings('reviewer')).find((e) => e.reason === 'InvalidEnvironmentVariableNames');
    expect(skipped?.note).toBe(
      `envFrom[0]: keys [1st-choice] of ConfigMap ${ns.name}/model-settings were skipped: they are not valid environment variable names`,
    );
    const done = await run('reviewer', 'print-env', 'echo "$MODEL $LLM_TOKEN"');
    expect(done.status?.result?.output).toBe('small-1 tok-1\n');
  });
});
