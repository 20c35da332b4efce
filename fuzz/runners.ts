// Simulated runners for the Agents labelled as served (names.ts RUNNER_LABEL): when such
// an agent's Pod turns Running on kwok, the real Heartbeat and TaskRunner of runner/ start
// for it in this process (test/support/simulated-runner.ts), with a behaviour chosen by
// the task's name, so tasks succeed, fail, run long or hang until their timeout.
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { AGENT_LABEL } from '../operator/src/api/common.ts';
import { agentKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import type { ExecutionResult, TaskInput } from '../runner/executors/executor.ts';
import { startSimulatedRunner, type SimulatedRunner } from '../test/support/simulated-runner.ts';
import { RUNNER_LABEL } from './names.ts';

const Agents = resourceOfKind(agentKind);

/** What a task does on a simulated agent, decided by its name (the same on every replay). */
export function behaviourOf(task: string): 'succeed' | 'fail' | 'slow' | 'hang' {
  const h = createHash('sha256').update(task).digest()[0] ?? 0;
  if (h < 140) return 'succeed';
  if (h < 190) return 'fail';
  if (h < 235) return 'slow';
  return 'hang';
}

async function run(task: TaskInput, signal: AbortSignal): Promise<ExecutionResult> {
  const kind = behaviourOf(`${task.namespace}/${task.name}`);
  const wait = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve(true);
      }, ms);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve(false);
        },
        { once: true },
      );
    });
  if (kind === 'hang' || !(await wait(kind === 'slow' ? 3000 : 100))) {
    if (kind === 'hang') await wait(2 ** 31 - 1);
    return { outcome: 'Cancelled', output: '', reason: 'stopped' };
  }
  return kind === 'fail'
    ? { outcome: 'Failed', output: '\u202Efailed on purpose', reason: 'exit code 3: failed on purpose', exitCode: 3 }
    : { outcome: 'Succeeded', output: `done ${task.name} 👩‍👩‍👧‍👦`, reason: 'exit code 0', exitCode: 0 };
}

export class Runners {
  private readonly client: RestClient;
  private readonly stopAll = new AbortController();
  private readonly running = new Map<string, SimulatedRunner>();
  private readonly log = pino({ level: process.env.AO_TEST_LOG ?? 'silent' });
  readonly executions = new Map<string, string[]>();
  started = 0;

  constructor(client: RestClient, namespaces: readonly string[]) {
    this.client = client;
    for (const namespace of namespaces) {
      const pods = new Informer<KubeObject>({ client, resource: Pods, namespace, labelSelector: AGENT_LABEL, logger: this.log });
      pods.addHandler({
        onAdd: (pod) => {
          this.observe(namespace, pod);
        },
        onUpdate: (_old, pod) => {
          this.observe(namespace, pod);
        },
        onDelete: (pod) => {
          void this.shutdown(`${namespace}/${pod.metadata.labels?.[AGENT_LABEL] ?? ''}`);
        },
      });
      void pods.run(this.stopAll.signal);
    }
  }

  private observe(namespace: string, pod: KubeObject): void {
    const agent = pod.metadata.labels?.[AGENT_LABEL] ?? '';
    const key = `${namespace}/${agent}`;
    if (pod.metadata.deletionTimestamp) {
      void this.shutdown(key);
      return;
    }
    if ((pod.status as { phase?: string } | undefined)?.phase !== 'Running' || this.running.has(key)) return;
    void this.start(namespace, agent).catch(() => undefined);
  }

  private async start(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const agent = await this.client.request<KubeObject>('GET', objectPath(Agents, namespace, name));
    if (agent.metadata.labels?.[RUNNER_LABEL] !== 'true' || this.running.has(key) || this.stopAll.signal.aborted) return;
    const spec = agent.spec as { maxConcurrentTasks?: number; heartbeat?: { intervalSeconds: number; timeoutSeconds: number } };
    this.running.set(
      key,
      startSimulatedRunner({
        client: this.client,
        namespace,
        agent: name,
        agentUid: agent.metadata.uid ?? '',
        heartbeat: { intervalMs: (spec.heartbeat?.intervalSeconds ?? 10) * 1000, timeoutMs: (spec.heartbeat?.timeoutSeconds ?? 30) * 1000 },
        capacity: spec.maxConcurrentTasks ?? 1,
        behaviour: (task, _agent, signal) => run(task, signal),
        executions: this.executions,
        logger: this.log,
      }),
    );
    this.started++;
  }

  private async shutdown(key: string): Promise<void> {
    const r = this.running.get(key);
    if (!r) return;
    this.running.delete(key);
    await r.runner.shutdown(5_000);
    r.stop.abort();
    await r.heartbeat?.release().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopAll.abort();
    await Promise.all([...this.running.keys()].map((k) => this.shutdown(k)));
  }
}
