import { API_VERSION } from '../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../operator/src/api/kinds.ts';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import { testLogger } from './runtime.ts';
import { hang, startSimulatedRunner, succeed, type Behaviour } from './simulated-runner.ts';
import type { CompactResult } from '../../runner/executors/executor.ts';

export { hang, succeed, type Behaviour };

const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);

export interface AgentOptions {
  capabilities?: string[];
  maxConcurrentTasks?: number;
  behaviour?: Behaviour;
  desiredState?: 'Active' | 'Sleeping';
  heartbeat?: { intervalSeconds: number; timeoutSeconds: number };
  labels?: Record<string, string>;
  /** spec.context: the runner reports usage against windowTokens. */
  context?: { windowTokens: number; compactAtPercent?: number };
  /** How the simulated agent compacts; without, it cannot (the operator recycles it). */
  compact?: (signal: AbortSignal) => Promise<CompactResult>;
}

export interface SimulatedAgent {
  name: string;
  /** Stops heartbeats and task work at once, without releasing anything: a crash. */
  kill(): void;
}

/**
 * Agents whose runners are simulated in this process: the real Heartbeat and TaskRunner
 * from runner/, with an executor the test scripts (no container). The Agents are real
 * (runtime kubernetes: their Pods run on kwok nodes), so the operator's agent controller
 * makes them Ready as the heartbeats arrive.
 */
export class Fleet {
  private readonly client: RestClient;
  private readonly namespace: string;
  private readonly stops: AbortController[] = [];
  /** Every execution: task name → agents that ran it, in order. */
  readonly executions = new Map<string, string[]>();

  constructor(client: RestClient, namespace: string) {
    this.client = client;
    this.namespace = namespace;
  }

  async agent(name: string, options: AgentOptions = {}): Promise<SimulatedAgent> {
    const heartbeat = options.heartbeat ?? { intervalSeconds: 2, timeoutSeconds: 6 };
    const created = await this.client.request<KubeObject>('POST', collectionPath(Agents, this.namespace), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name, ...(options.labels ? { labels: options.labels } : {}) },
        spec: {
          capabilities: options.capabilities ?? ['work'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
          maxConcurrentTasks: options.maxConcurrentTasks ?? 1,
          heartbeat,
          ...(options.desiredState ? { desiredState: options.desiredState } : {}),
          ...(options.context ? { context: options.context } : {}),
        },
      },
    });
    return this.run(created, { ...options, heartbeat });
  }

  /** A runner for an Agent that already exists (a new runner process after a restore). */
  async attach(name: string, options: { behaviour?: Behaviour } = {}): Promise<SimulatedAgent> {
    const agent = await this.client.request<
      KubeObject & { spec?: { maxConcurrentTasks?: number; heartbeat?: { intervalSeconds: number; timeoutSeconds: number } } }
    >('GET', objectPath(Agents, this.namespace, name));
    return this.run(agent, {
      ...options,
      maxConcurrentTasks: agent.spec?.maxConcurrentTasks,
      heartbeat: agent.spec?.heartbeat ?? { intervalSeconds: 2, timeoutSeconds: 6 },
    });
  }

  private run(
    agent: KubeObject,
    options: {
      maxConcurrentTasks?: number | undefined;
      behaviour?: Behaviour | undefined;
      desiredState?: 'Active' | 'Sleeping' | undefined;
      heartbeat: { intervalSeconds: number; timeoutSeconds: number };
      context?: { windowTokens: number } | undefined;
      compact?: AgentOptions['compact'];
    },
  ): SimulatedAgent {
    const name = agent.metadata.name ?? '';
    const { heartbeat } = options;
    const sim = startSimulatedRunner({
      client: this.client,
      namespace: this.namespace,
      agent: name,
      agentUid: agent.metadata.uid ?? '',
      heartbeat:
        options.desiredState === 'Sleeping'
          ? undefined
          : { intervalMs: heartbeat.intervalSeconds * 1000, timeoutMs: heartbeat.timeoutSeconds * 1000 },
      capacity: options.maxConcurrentTasks ?? 1,
      behaviour: options.behaviour ?? succeed,
      executions: this.executions,
      windowTokens: options.context?.windowTokens,
      compact: options.compact,
      logger: testLogger(),
    });
    this.stops.push(sim.stop);
    return {
      name,
      // A crash: no more heartbeats, no more task events, nothing released or written.
      kill: () => {
        sim.stop.abort();
      },
    };
  }

  /** The namespace's OrchestratorPolicy, named default. */
  async policy(spec: Record<string, unknown>): Promise<KubeObject> {
    return this.client.request('POST', collectionPath(Policies, this.namespace), {
      body: { apiVersion: API_VERSION, kind: 'OrchestratorPolicy', metadata: { name: 'default' }, spec },
    });
  }

  async task(name: string, spec: Record<string, unknown> = {}): Promise<KubeObject> {
    return this.client.request('POST', collectionPath(Tasks, this.namespace), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['work'], ...spec } },
    });
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s.abort();
  }
}
