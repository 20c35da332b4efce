import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../test/support/kube.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';
import { agentClient } from '../test/support/identities.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    result?: { output?: string; exitCode?: number };
    history?: { agent: string; outcome: string; time: string }[];
  };
};

const agent = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'Agent',
  metadata: { name },
  spec,
});
const task = (name: string, spec: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'Task',
  metadata: { name },
  spec,
});

describe('agents and tasks on the installed operator', () => {
  const ns = useNamespace('e2e-work-');
  let fleet: PodFleet | undefined;
  beforeAll(async () => {
    // Agents run under Pod Security "restricted", as the chart's docs advise.
    await client.request('PATCH', `/api/v1/namespaces/${ns.name}`, {
      body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      contentType: 'application/merge-patch+json',
    });
    // Pods on kwok run no container: each gets a simulated runner that acts with its
    // agent's own ServiceAccount token, as the runner in the Pod would. (On kind the
    // real runner image runs in the Pods.)
    const e2e = inject('e2e');
    if (e2e.mode === 'local')
      fleet = new PodFleet(client, ns.name, undefined, (name) => agentClient(client, e2e.kubeconfig, ns.name, name));
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  const create = (kind: 'agents' | 'tasks', body: Record<string, unknown>): Promise<KubeObject> =>
    client.request('POST', collectionPath(kind === 'agents' ? Agents : Tasks, ns.name), { body });
  const get = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const succeeded = (name: string, timeoutMs = 90_000): Promise<TaskObj> =>
    waitFor(
      `task ${name} Succeeded`,
      async () => {
        const t = await get(name);
        if (t.status?.phase === 'Failed') throw new Error(`task ${name} failed: ${JSON.stringify(t.status)}`);
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs },
    );

  it.skipIf(inject('e2e').mode === 'kind')(
    'runs a real task in a Docker-runtime agent: the real runner in a container runs the command',
    async () => {
      await create(
        'agents',
        agent('shell', {
          capabilities: ['shell'],
          runtime: { type: 'docker', image: 'agent-orchestrator/runner:dev', env: [{ name: 'RUNNER_COMMAND', value: '["sh"]' }] },
          heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
        }),
      );
      await create('tasks', task('arithmetic', { requiredCapabilities: ['shell'], input: 'echo "6*7=$((6*7)) from $(uname -s)"' }));
      const done = await succeeded('arithmetic', 120_000);
      expect(done.status?.result?.output).toMatch(/^6\*7=42 from Linux\s*$/);
      expect(done.status?.result?.exitCode).toBe(0);
      expect(done.status?.history?.map((h) => [h.agent, h.outcome])).toEqual([['shell', 'Succeeded']]);
    },
  );

  it('runs Kubernetes-runtime agents and a workflow DAG in dependency order', async () => {
    const spec = (capabilities: string[]): Record<string, unknown> => ({
      capabilities,
      runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
      heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
      maxConcurrentTasks: 2,
    });
    await create('agents', agent('builder', spec(['typescript'])));
    await create('agents', agent('reviewer', spec(['code-review', 'typescript'])));
    // The DAG of examples/workflow.yaml: lint and tests, then the review, then the summary.
    await create('tasks', task('lint', { requiredCapabilities: ['typescript'], input: 'lint' }));
    await create('tasks', task('unit-tests', { requiredCapabilities: ['typescript'], input: 'test' }));
    await create(
      'tasks',
      task('review', {
        requiredCapabilities: ['code-review'],
        dependsOn: ['lint', 'unit-tests'],
        input: 'review',
        affinity: { contextKey: 'pr-1' },
      }),
    );
    await create(
      'tasks',
      task('summary', { requiredCapabilities: ['code-review'], dependsOn: ['review'], input: 'summary', affinity: { contextKey: 'pr-1' } }),
    );
    const [lint, tests, review, summary] = await Promise.all(['lint', 'unit-tests', 'review', 'summary'].map((n) => succeeded(n)));
    const finished = (t: TaskObj | undefined): number => Date.parse(t?.status?.history?.at(-1)?.time ?? '');
    const started = (t: TaskObj | undefined): number => Date.parse((t?.status as { startedAt?: string } | undefined)?.startedAt ?? '');
    expect(started(review)).toBeGreaterThanOrEqual(Math.max(finished(lint), finished(tests)));
    expect(started(summary)).toBeGreaterThanOrEqual(finished(review));
    // The conversation stays on the agent that holds it.
    expect(summary?.status?.history?.[0]?.agent).toBe(review?.status?.history?.[0]?.agent);
    // The agents go back to Ready once the controller has seen their last task end (a
    // status write of its own, after the task's).
    const phases = async (): Promise<(string | undefined)[]> =>
      (await client.request<ObjectList>('GET', collectionPath(Agents, ns.name))).items
        .filter((a) => (a.spec as { runtime: { type: string } }).runtime.type === 'kubernetes')
        .map((a) => (a.status as { phase?: string }).phase);
    await waitFor('both agents Ready again', async () => ((await phases()).every((p) => p === 'Ready') ? true : undefined));
    expect(await phases()).toEqual(['Ready', 'Ready']);
  });
});
