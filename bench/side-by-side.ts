// The two systems of the routing benchmark, driven the same way: the operator places
// Tasks on Agents, kube-scheduler places Pods on kwok nodes. Agent i and node i carry
// the same capabilities (node labels), Task j and Pod j ask for the same ones (required
// capabilities, a nodeSelector), and "placed" is the first time a watch sees the Task
// Assigned or the Pod bound to a node.
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { allSeen, firstSeen, pool, steady } from './load.ts';
import { ratePerSecond, summarize, sustainedRate, type Summary } from './stats.ts';

const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
/** Capabilities live in four lanes: each item can go to a quarter of the fleet, so both sides filter. */
export const LANES = 4;
export const capabilitiesOf = (i: number): string[] => ['work', `lane-${i % LANES}`];
export const nodeLabel = (capability: string): string => `capability.bench.agents.orchestrator.dev/${capability}`;
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export type System = 'operator' | 'scheduler';

export interface Phase {
  system: System;
  latencyMs: number[];
  latency: Summary;
  /** Placements per second, first created to last placed. */
  meanRate: number;
  /** Placements per second over the middle 80% of the placements (ramp-up and tail left out). */
  sustainedRate: number;
  /** From the first item created to the last placed, seconds. */
  allPlacedSeconds: number;
  /** From the first item created to the last one's create answered, seconds: nothing can be placed faster than it is created. */
  allCreatedSeconds: number;
  /** [seconds since the phase started, placements in that second]. */
  throughput: [number, number][];
}

/** Ready Agents (status written here: no agent controller runs) with room for `perAgent` tasks each. */
export async function createReadyAgents(client: RestClient, namespace: string, count: number, perAgent: number): Promise<void> {
  await pool(
    Array.from({ length: count }, (_, i) => i),
    32,
    async (i) => {
      const created = await client.request<KubeObject>('POST', collectionPath(Agents, namespace), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name: `agent-${i}` },
          spec: {
            capabilities: capabilitiesOf(i),
            runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
            maxConcurrentTasks: perAgent,
          },
        },
      });
      const now = stamp(Date.now());
      const condition = (type: string): Record<string, string> => ({
        type,
        status: 'True',
        reason: 'HeartbeatRenewed',
        message: 'bench',
        lastTransitionTime: now,
      });
      await client.request('PUT', objectPath(Agents, namespace, `agent-${i}`, 'status'), {
        body: { ...created, status: { phase: 'Ready', conditions: [condition('Ready'), condition('Healthy')] } },
      });
    },
  );
}

/** Creates items on both sides and records when each was created and placed. */
export class SideBySide {
  private readonly client: RestClient;
  private readonly namespace: string;
  private readonly created = new Map<string, number>();
  private readonly assigned: Map<string, number>;
  private readonly bound: Map<string, number>;
  private next = 0;

  /** Without a Pod informer, only the operator's side is driven. */
  constructor(client: RestClient, namespace: string, tasks: SharedInformer<KubeObject>, pods?: SharedInformer<KubeObject>) {
    this.client = client;
    this.namespace = namespace;
    this.assigned = firstSeen(tasks, (t) => (t.status as { phase?: string } | undefined)?.phase === 'Assigned');
    this.bound = pods
      ? firstSeen(pods, (p) => typeof (p.spec as { nodeName?: string } | undefined)?.nodeName === 'string')
      : new Map<string, number>();
  }

  /** Offers `count` items to one system, at `rate` per second or (rate undefined) all at once, and waits for every placement. */
  async phase(system: System, label: string, count: number, rate: number | undefined, timeoutMs: number): Promise<Phase> {
    const names = this.names(system, label, count);
    const create = (name: string): Promise<unknown> => this.create(system, name);
    const t0 = performance.now();
    if (rate === undefined) await pool(names, 64, create);
    else await steady(names, rate, create);
    return this.placements(system, label, names, t0, (performance.now() - t0) / 1000, (n) => this.created.get(n) ?? NaN, timeoutMs);
  }

  /**
   * Creates `count` items while their system is stopped, then calls `release` (which
   * starts it) and waits for every placement: how fast a backlog is drained, with no
   * creates competing for the API server. Latency and rates count from the release.
   */
  async backlog(system: System, label: string, count: number, release: () => void | Promise<void>, timeoutMs: number): Promise<Phase> {
    const names = this.names(system, label, count);
    const t = performance.now();
    await pool(names, 64, (name) => this.create(system, name));
    const allCreatedSeconds = (performance.now() - t) / 1000;
    const t0 = performance.now();
    await release();
    return this.placements(system, label, names, t0, allCreatedSeconds, () => t0, timeoutMs);
  }

  private names(system: System, label: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => `${system === 'operator' ? 'task' : 'pod'}-${label}-${i}`);
  }

  /** Waits for every item to be placed; latency counts from `since(name)`, rates from `t0`. */
  private async placements(
    system: System,
    label: string,
    names: string[],
    t0: number,
    allCreatedSeconds: number,
    since: (name: string) => number,
    timeoutMs: number,
  ): Promise<Phase> {
    const placed = system === 'operator' ? this.assigned : this.bound;
    await allSeen(`${system === 'operator' ? 'Tasks assigned' : 'Pods bound'} (${label})`, placed, names, timeoutMs);
    const times = names.map((n) => placed.get(n) ?? NaN);
    const latencyMs = names.map((n, i) => (times[i] ?? NaN) - since(n));
    const allPlacedSeconds = (Math.max(...times) - t0) / 1000;
    return {
      system,
      latencyMs,
      latency: summarize(latencyMs),
      meanRate: names.length / allPlacedSeconds,
      sustainedRate: sustainedRate(times),
      allPlacedSeconds,
      allCreatedSeconds,
      throughput: ratePerSecond(times, t0),
    };
  }

  private async create(system: System, name: string): Promise<void> {
    const caps = capabilitiesOf(this.next++);
    this.created.set(name, performance.now());
    if (system === 'operator') {
      await this.client.request('POST', collectionPath(Tasks, this.namespace), {
        body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: caps } },
      });
      return;
    }
    await this.client.request('POST', collectionPath(Pods, this.namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { bench: 'routing' } },
        spec: {
          nodeSelector: Object.fromEntries(caps.map((c) => [nodeLabel(c), 'true'])),
          containers: [{ name: 'main', image: 'agent-orchestrator/runner:dev' }],
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
        },
      },
    });
  }
}
