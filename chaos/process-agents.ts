// Agents on kwok whose runner is the real `node runner/main.ts` in a process group of its
// own (so it can be frozen with SIGSTOP), reaching the API server through a loopback proxy
// of its own (so its network can be cut). This plays the kubelet: a runner starts when
// the agent's Pod runs (with a token bound to that Pod), gets SIGTERM when the Pod goes,
// and is started again when it exits while its Pod still runs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { AGENT_LABEL } from '../operator/src/api/names.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods } from '../operator/src/runtime/rest/resource.ts';
import { agentKubeConfig } from '../test/support/identities.ts';
import { LoopbackProxy } from '../test/support/loopback-proxy.ts';
import { RunnerProcess } from '../test/support/runner-process.ts';
import type { LogLine } from './journal.ts';

/** Reads the task's input (seconds of work) from stdin, works that long, names the attempt. */
export const WORK_COMMAND = 'read d; sleep "$d"; echo "$TASK_NAME attempt $TASK_ATTEMPT"';

interface Life {
  podUid: string;
  process: RunnerProcess;
}

export class ProcessAgents {
  private readonly pods: Informer<KubeObject>;
  private readonly stopAll = new AbortController();
  private readonly lives = new Map<string, Life>();
  private readonly proxies = new Map<string, LoopbackProxy>();
  /** Every process that ran, per agent, with its log lines (the journal reads them). */
  readonly processes = new Map<string, RunnerProcess[]>();
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'chaos-runners-'));
  private readonly starting = new Set<string>();
  private stopped = false;

  private readonly admin: RestClient;
  private readonly kubeconfig: string;
  private readonly namespace: string;
  private readonly agents: readonly string[];
  private readonly apiServerPort: number;

  constructor(admin: RestClient, kubeconfig: string, namespace: string, agents: readonly string[], apiServerPort: number) {
    this.admin = admin;
    this.kubeconfig = kubeconfig;
    this.namespace = namespace;
    this.agents = agents;
    this.apiServerPort = apiServerPort;
    this.pods = new Informer<KubeObject>({
      client: admin,
      resource: Pods,
      namespace,
      labelSelector: AGENT_LABEL,
      logger: pino({ level: 'silent' }),
    });
    const look = (pod: KubeObject): void => {
      this.observe(pod);
    };
    this.pods.addHandler({
      onAdd: look,
      onUpdate: (_o, pod) => {
        look(pod);
      },
      onDelete: (pod) => {
        this.podGone(pod.metadata.labels?.[AGENT_LABEL] ?? '', pod.metadata.uid ?? '');
      },
    });
  }

  async start(): Promise<void> {
    for (const a of this.agents) {
      const proxy = new LoopbackProxy({ port: this.apiServerPort });
      await proxy.open();
      this.proxies.set(a, proxy);
    }
    void this.pods.run(this.stopAll.signal);
    await this.pods.waitForSync(this.stopAll.signal);
  }

  /** The process running the agent's runner now, if one does. */
  current(agent: string): RunnerProcess | undefined {
    const l = this.lives.get(agent);
    return l?.process.running ? l.process : undefined;
  }

  proxy(agent: string): LoopbackProxy {
    const p = this.proxies.get(agent);
    if (!p) throw new Error(`no proxy for agent ${agent}`);
    return p;
  }

  /** Every log line of every life of the agent's runner. */
  logs(agent: string): LogLine[] {
    return (this.processes.get(agent) ?? []).flatMap((p) => p.logs as LogLine[]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopAll.abort();
    for (const l of this.lives.values()) {
      l.process.kill('SIGCONT');
      l.process.kill('SIGKILL');
    }
    await Promise.all([...this.lives.values()].map((l) => l.process.exited));
    await Promise.all([...this.proxies.values()].map((p) => p.cut()));
  }

  private observe(pod: KubeObject): void {
    const agent = pod.metadata.labels?.[AGENT_LABEL] ?? '';
    if (!this.agents.includes(agent) || this.stopped) return;
    const uid = pod.metadata.uid ?? '';
    if (pod.metadata.deletionTimestamp) {
      this.podGone(agent, uid);
      return;
    }
    if ((pod.status as { phase?: string } | undefined)?.phase !== 'Running') return;
    const life = this.lives.get(agent);
    if (life?.podUid === uid || this.starting.has(agent)) return;
    if (life) life.process.kill('SIGKILL');
    void this.launch(agent, uid);
  }

  /** The Pod went: its container gets SIGTERM, as the kubelet sends it. */
  private podGone(agent: string, uid: string): void {
    const life = this.lives.get(agent);
    if (life?.podUid !== uid) return;
    this.lives.delete(agent);
    life.process.kill('SIGCONT');
    life.process.kill('SIGTERM');
  }

  private async launch(agent: string, podUid: string): Promise<void> {
    this.starting.add(agent);
    try {
      const kc = await agentKubeConfig(this.admin, this.kubeconfig, this.namespace, agent).catch(() => undefined);
      if (!kc || this.stopped) return;
      const file = path.join(this.dir, `${agent}-${podUid}.kubeconfig`);
      writeFileSync(file, viaProxy(kc, this.proxy(agent).listenPort).exportConfig(), { mode: 0o600 });
      const process = new RunnerProcess({
        AGENT_NAME: agent,
        AGENT_NAMESPACE: this.namespace,
        KUBECONFIG: file,
        RUNNER_COMMAND: WORK_COMMAND,
        RUNNER_PROGRESS_SECONDS: '0',
        RUNNER_RESOURCE_REPORT_SECONDS: '0',
      });
      this.processes.set(agent, [...(this.processes.get(agent) ?? []), process]);
      this.lives.set(agent, { podUid, process });
      // A runner that exits while its Pod runs (its Lease taken, a crash) is started
      // again, as the kubelet restarts a container.
      void process.exited.then(() => {
        if (this.stopped || this.lives.get(agent)?.process !== process) return;
        this.lives.delete(agent);
        setTimeout(() => {
          const pod = this.pods.get(`${this.namespace}/agent-${agent}`);
          if (pod && !pod.metadata.deletionTimestamp && pod.metadata.uid === podUid) void this.launch(agent, podUid);
        }, 1000);
      });
    } finally {
      this.starting.delete(agent);
    }
  }
}

/** The same identity, with the API server reached through the agent's loopback proxy (TLS passes through). */
function viaProxy(kc: KubeConfig, port: number): KubeConfig {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster || !user) throw new Error('the agent kubeconfig has no current cluster or user');
  const out = new KubeConfig();
  out.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }],
    users: [user],
    contexts: [{ name: 'agent', cluster: cluster.name, user: user.name }],
    currentContext: 'agent',
  });
  return out;
}
