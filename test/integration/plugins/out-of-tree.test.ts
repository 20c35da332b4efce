import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

// The operator process loads examples/plugins/team-score by path (--plugin), a policy
// gives it a weight and settings, and routing follows it.
const repo = path.resolve(import.meta.dirname, '../../..');
const EXAMPLE = 'examples/plugins/team-score/index.ts';
const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string };
type TaskObj = KubeObject & { status?: { phase?: string; assignment?: { agent: string } } };
type PolicyObj = KubeObject & {
  status?: {
    conditions?: Condition[];
    inForce?: { routing: { plugins?: { name: string; weight: number }[] }; plugins?: Record<string, unknown> };
  };
};

// Tasks stay Running until the test ends, so each agent's load builds up.
const hold: Behaviour = (_task, _agent, signal) =>
  new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      resolve({ outcome: 'Cancelled', output: '', reason: 'stopped' });
    });
  });

describe('an out-of-tree plugin loaded by path', () => {
  beforeAll(installCrds);
  const ns = useNamespace('out-of-tree-');
  const processes: OperatorProcess[] = [];
  let fleet: Fleet | undefined;
  afterAll(async () => {
    fleet?.stop();
    await Promise.all(processes.map((p) => p.stop()));
  });
  const start = (env: Record<string, string>, args: string[] = []): OperatorProcess => {
    const p = new OperatorProcess({ AO_LEADER_ELECT: 'false', AO_KUBE_API_QPS: '200', AO_KUBE_API_BURST: '400', ...env }, args);
    processes.push(p);
    return p;
  };

  it('routes a team’s tasks to the team’s agents when a policy weights team-score, and reports its timings', async () => {
    // LeastLoaded alone would send the second blue task to the idle red agent.
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: {
          routing: { strategy: 'LeastLoaded', plugins: [{ name: 'team-score', weight: 10 }] },
          plugins: { 'team-score': { label: 'example.com/team', sharedAgentScore: 0 } },
        },
      },
    });
    const op = start({ AO_WATCH_NAMESPACES: ns.name }, ['--plugin', EXAMPLE]);
    const loaded = await op.waitForLog('the plugin loaded', (l) => l.msg === 'loaded plugin');
    expect(loaded).toMatchObject({ level: 30, plugin: 'team-score', module: path.join(repo, EXAMPLE), points: ['routing.score'] });

    const policy = await waitFor('the policy applied with team-score in force', async () => {
      const p = await client.request<PolicyObj>('GET', objectPath(Policies, ns.name, 'default'));
      const ready = p.status?.conditions?.find((c) => c.type === 'Ready');
      return ready?.status === 'True' && p.status?.inForce ? p : undefined;
    });
    expect(policy.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Applied');
    expect(policy.status?.inForce?.routing.plugins).toEqual([{ name: 'team-score', weight: 10 }]);
    expect(policy.status?.inForce?.plugins).toEqual({ 'team-score': { label: 'example.com/team', sharedAgentScore: 0 } });

    fleet = new Fleet(client, ns.name);
    for (const team of ['blue', 'red']) {
      await fleet.agent(`${team}-agent`, { labels: { 'example.com/team': team }, maxConcurrentTasks: 4, behaviour: hold });
    }
    for (const name of ['blue-agent', 'red-agent']) {
      await waitFor(
        `${name} Ready`,
        async () => {
          const a = await client.request<KubeObject & { status?: { phase?: string } }>('GET', objectPath(Agents, ns.name, name));
          return a.status?.phase === 'Ready' ? true : undefined;
        },
        { timeoutMs: 60_000 },
      );
    }

    const tasks = [
      ['blue-1', 'blue'],
      ['blue-2', 'blue'],
      ['blue-3', 'blue'],
      ['red-1', 'red'],
    ] as const;
    for (const [name, team] of tasks) {
      await client.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name, labels: { 'example.com/team': team } },
          spec: { requiredCapabilities: ['work'] },
        },
      });
    }
    const assigned = await waitFor('every task assigned', async () => {
      const list = await Promise.all(tasks.map(([name]) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, name))));
      return list.every((t) => t.status?.assignment?.agent) ? list : undefined;
    });
    expect(Object.fromEntries(assigned.map((t) => [t.metadata.name, t.status?.assignment?.agent]))).toEqual({
      'blue-1': 'blue-agent',
      'blue-2': 'blue-agent',
      'blue-3': 'blue-agent',
      'red-1': 'red-agent',
    });

    // Its Score calls are timed like a built-in plugin's.
    const metrics = (await op.get('/metrics')).body;
    expect(metrics).toMatch(/^agent_orchestrator_plugin_duration_seconds_count\{plugin="team-score",extension_point="Score"\} [1-9]\d*$/m);
  });

  it.each([
    [
      'a path that does not exist',
      ['--plugin', 'examples/plugins/no-such-plugin/index.js'],
      /cannot load plugin module examples\/plugins\/no-such-plugin\/index\.js \(.*\/examples\/plugins\/no-such-plugin\/index\.js\): no such file/,
    ],
    [
      'a module that is not a plugin',
      ['--plugin', 'test/support/wait.ts'],
      /cannot load plugin module test\/support\/wait\.ts .*: it has no default export and no export named plugin/,
    ],
    [
      'the same plugin twice',
      ['--plugin', EXAMPLE, '--plugin', path.join(repo, EXAMPLE)],
      /a plugin named "team-score" is already registered \(loaded from .*\); rename it/,
    ],
  ])('exits 2 with one line naming the module and the fix, given %s', async (_case, args, message) => {
    const op = start({ AO_WATCH_NAMESPACES: ns.name }, args);
    expect(await op.exited).toEqual({ code: 2, signal: null });
    expect(op.stderr).toHaveLength(1);
    expect(op.stderr[0]).toMatch(/^agent-orchestrator: --plugin \/ AO_PLUGINS: /);
    expect(op.stderr[0]).toMatch(message);
  });

  it('takes the modules from AO_PLUGINS too', async () => {
    const op = start({ AO_WATCH_NAMESPACES: ns.name, AO_PLUGINS: path.join(repo, 'examples/plugins/missing.mjs') });
    expect((await op.exited).code).toBe(2);
    expect(op.stderr.join('\n')).toContain(`cannot load plugin module ${path.join(repo, 'examples/plugins/missing.mjs')}: no such file`);
  });
});
