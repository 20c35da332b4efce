import { pino, type Logger } from 'pino';
import { AGENT_LABEL } from '../../operator/src/api/common.ts';
import { agentKind } from '../../operator/src/api/kinds.ts';
import { Informer } from '../../operator/src/runtime/cache/informer.ts';
import { isNotFound } from '../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { Pods, objectPath, resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import { startSimulatedRunner, succeed, type Behaviour, type SimulatedRunner } from './simulated-runner.ts';

export type { Behaviour };

const Agents = resourceOfKind(agentKind);

/**
 * Plays the runner inside every agent Pod of a namespace, as the runner image would on a
 * real node: Pods on kwok run no container, so when one turns Running this starts the real
 * Heartbeat and TaskRunner from runner/ for its Agent, and when the Pod is deleted it shuts
 * them down as SIGTERM would (running tasks finish within the grace, then the Lease is
 * released). Agents the operator creates itself (autoscaling pools) get runners this way.
 */
export class PodFleet {
  private readonly client: RestClient;
  private readonly namespace: string;
  private readonly behaviour: Behaviour;
  private readonly log: Logger;
  private readonly pods: Informer<KubeObject>;
  private readonly stopAll = new AbortController();
  private readonly running = new Map<string, SimulatedRunner>();
  /** Every execution: task name → agents that ran it, in order. */
  readonly executions = new Map<string, string[]>();
  /** Agents that have had a runner, in the order they got one. */
  readonly started: string[] = [];

  private readonly clientFor: ((agent: string) => Promise<RestClient>) | undefined;

  /**
   * `clientFor` gives each runner its own API identity (e2e: the agent's ServiceAccount
   * token, as its Pod would mount); without it runners share `client`. Not vitest-bound
   * (benchmarks use it too): logs are silent unless AO_TEST_LOG names a level.
   */
  constructor(client: RestClient, namespace: string, behaviour: Behaviour = succeed, clientFor?: (agent: string) => Promise<RestClient>) {
    this.client = client;
    this.clientFor = clientFor;
    this.namespace = namespace;
    this.behaviour = behaviour;
    this.log = pino({ level: process.env.AO_TEST_LOG ?? 'silent' });
    this.pods = new Informer<KubeObject>({ client, resource: Pods, namespace, labelSelector: AGENT_LABEL, logger: this.log });
    this.pods.addHandler({
      onAdd: (pod) => {
        this.observe(pod);
      },
      onUpdate: (_old, pod) => {
        this.observe(pod);
      },
      onDelete: (pod) => {
        void this.shutdown(pod.metadata.labels?.[AGENT_LABEL] ?? '');
      },
    });
    void this.pods.run(this.stopAll.signal);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.keys()].map((agent) => this.shutdown(agent)));
    this.stopAll.abort();
  }

  private observe(pod: KubeObject): void {
    const agent = pod.metadata.labels?.[AGENT_LABEL] ?? '';
    if (pod.metadata.deletionTimestamp) {
      void this.shutdown(agent);
      return;
    }
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (phase !== 'Running' || this.running.has(agent)) return;
    const uid = pod.metadata.ownerReferences?.find((r) => r.kind === 'Agent')?.uid ?? '';
    void this.start(agent, uid);
  }

  private async start(name: string, agentUid: string): Promise<void> {
    const agent = await this.client.request<KubeObject>('GET', objectPath(Agents, this.namespace, name)).catch(() => undefined);
    if (!agent || this.running.has(name)) return;
    const spec = agent.spec as { maxConcurrentTasks?: number; heartbeat?: { intervalSeconds: number; timeoutSeconds: number } };
    // A Pod deleted since it was seen Running gets no token bound to it (404): it has no
    // runner to start, as a real Pod gone before its container started would not.
    const client = this.clientFor
      ? await this.clientFor(name).catch((err: unknown) => {
          if (isNotFound(err)) return undefined;
          throw err;
        })
      : this.client;
    if (!client || this.running.has(name)) return;
    this.running.set(
      name,
      startSimulatedRunner({
        client,
        namespace: this.namespace,
        agent: name,
        agentUid,
        heartbeat: { intervalMs: (spec.heartbeat?.intervalSeconds ?? 10) * 1000, timeoutMs: (spec.heartbeat?.timeoutSeconds ?? 30) * 1000 },
        capacity: spec.maxConcurrentTasks ?? 1,
        behaviour: this.behaviour,
        executions: this.executions,
        logger: this.log,
      }),
    );
    this.started.push(name);
  }

  private async shutdown(agent: string): Promise<void> {
    const r = this.running.get(agent);
    if (!r) return;
    this.running.delete(agent);
    await r.runner.shutdown(30_000);
    r.stop.abort();
    await r.heartbeat?.release();
  }
}
