// Two replicas of the operator (`node operator/src/main.ts`, as users run it from source)
// with leader election in the run's namespace, each a child process chaos can SIGKILL.
// Their logs go to files next to the run's result, for when a run fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../bench/operator-child.ts';
import { sleep } from '../bench/load.ts';

const MAIN = path.resolve(import.meta.dirname, '../operator/src/main.ts');
export const LEADER_LEASE = 'agent-orchestrator';

export interface OperatorSettings {
  kubeconfig: string;
  namespace: string;
  dockerHost: string;
  logDir: string;
  /** Leader election: Lease duration, renew deadline and retry period, in seconds. */
  lease: { duration: number; renewDeadline: number; retryPeriod: number };
}

class Replica {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  private readonly probe: string;

  constructor(identity: string, probe: string, s: OperatorSettings, life: number) {
    this.identity = identity;
    this.probe = probe;
    const log = openSync(path.join(s.logDir, `operator-${identity}-${life}.log`), 'a');
    this.child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: s.kubeconfig,
        AO_WATCH_NAMESPACES: s.namespace,
        AO_LEADER_ELECT: 'true',
        AO_LEADER_ELECTION_NAMESPACE: s.namespace,
        AO_IDENTITY: identity,
        AO_LEADER_ELECT_LEASE_DURATION: String(s.lease.duration),
        AO_LEADER_ELECT_RENEW_DEADLINE: String(s.lease.renewDeadline),
        AO_LEADER_ELECT_RETRY_PERIOD: String(s.lease.retryPeriod),
        AO_HEALTH_PROBE_BIND_ADDRESS: probe,
        AO_METRICS_BIND_ADDRESS: '0',
        AO_LOG_LEVEL: 'warn',
        AO_DOCKER_HOST: s.dockerHost,
        AO_DOCKER_NETWORK: 'host',
        AO_DOCKER_PULL_POLICY: 'Never',
        AO_AGENT_STARTUP_GRACE: '90',
        AO_TASK_REASSIGN_DELAY: '1',
      },
      stdio: ['ignore', log, log],
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        resolve();
      }),
    );
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** /readyz answers 200: caches synced (a standby is ready too). */
  async waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (!this.alive)
        throw new Error(`operator ${this.identity} exited (${String(this.child.exitCode ?? this.child.signalCode)}) before it was ready`);
      if (performance.now() > deadline) throw new Error(`operator ${this.identity} was not ready within ${timeoutMs / 1000} s`);
      const res = await fetch(`http://${this.probe}/readyz`).catch(() => undefined);
      if (res?.status === 200) return;
      await sleep(100);
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export class Operators {
  private readonly s: OperatorSettings;
  private readonly replicas = new Map<string, Replica>();
  private lives = 0;

  constructor(settings: OperatorSettings) {
    this.s = settings;
  }

  /** Starts a replica under `identity` (replacing a dead one) and waits until it is ready. */
  async start(identity: string): Promise<void> {
    const replica = new Replica(identity, `127.0.0.1:${await freePort()}`, this.s, ++this.lives);
    this.replicas.set(identity, replica);
    await replica.waitReady();
  }

  async kill(identity: string): Promise<void> {
    await this.replicas.get(identity)?.kill('SIGKILL');
  }

  identities(): string[] {
    return [...this.replicas.keys()];
  }

  /** Stops every replica: SIGTERM (a graceful stop releases the leader Lease). */
  async stop(): Promise<void> {
    await Promise.all([...this.replicas.values()].map((r) => r.kill('SIGTERM')));
  }
}
