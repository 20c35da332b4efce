import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AGENT_LABEL, API_VERSION } from '../operator/src/api/names.ts';
import { isAborted, type Clock } from '../operator/src/runtime/clock.ts';
import { isConflict, isNotFound, messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { microTime, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath } from '../operator/src/runtime/rest/resource.ts';

/**
 * One runner process's identity: the agent's name and a boot id, as client-go's leader
 * election names its candidates (`<host>_<uuid>`). A restarted runner is a new identity,
 * so its predecessor's attempts can be told from its own.
 */
export function newRunnerIdentity(agent: string): string {
  return `${agent}_${randomBytes(8).toString('hex')}`;
}

/** What the task runner asks of the Lease before it takes or gives back work. */
export interface LeaseHold {
  readonly identity: string;
  /** This process acquired the Lease and renewed it within the timeout. */
  holds(): boolean;
  /** Reads the Lease from the API server: true when this process holds it now. */
  confirm(signal?: AbortSignal): Promise<boolean>;
}

/** Another runner process took the agent's Lease: this one must stop working. */
export class LeaseTakenError extends Error {
  override readonly name = 'LeaseTakenError';
  readonly holder: string;

  constructor(lease: string, holder: string) {
    super(`lease ${lease} is now held by ${holder}: another runner process serves this agent`);
    this.holder = holder;
  }
}

export interface HeartbeatOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  agentUid: string;
  /** This process (newRunnerIdentity). */
  identity: string;
  intervalMs: number;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
}

type LeaseObject = KubeObject & {
  spec?: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number };
};

/**
 * The Lease that says this agent is alive: `agent-<name>`, held by one runner process.
 * A new process takes the Lease at once (the agent's workload runs one runner, so a new
 * process is its successor, not a rival), counting a transition; a process that finds
 * the Lease taken by another identity after it held it stops (LeaseTakenError).
 */
export class Heartbeat implements LeaseHold {
  readonly identity: string;
  private readonly o: HeartbeatOptions;
  private readonly name: string;
  private renewedAt: number | undefined;
  private readonly acquiredOnce: Promise<void>;
  private markAcquired: () => void = () => undefined;

  constructor(options: HeartbeatOptions) {
    this.o = options;
    this.identity = options.identity;
    this.name = `agent-${options.agent}`;
    this.acquiredOnce = new Promise((resolve) => {
      this.markAcquired = resolve;
    });
  }

  /**
   * Renews until `signal` aborts; a failed renewal is retried at the next interval.
   * Rejects with LeaseTakenError when another process took the Lease.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!isAborted(signal)) {
      try {
        await this.renew();
      } catch (err) {
        if (err instanceof LeaseTakenError) throw err;
        this.o.logger.warn({ err: messageOf(err) }, 'heartbeat renewal failed');
      }
      await this.o.clock.sleep(this.o.intervalMs, signal);
    }
  }

  /** Resolves when this process first holds the Lease. */
  acquired(): Promise<void> {
    return this.acquiredOnce;
  }

  holds(): boolean {
    return this.renewedAt !== undefined && this.o.clock.now() - this.renewedAt <= this.o.timeoutMs;
  }

  async confirm(signal?: AbortSignal): Promise<boolean> {
    const lease = await this.o.client.request<LeaseObject>(
      'GET',
      objectPath(Leases, this.o.namespace, this.name),
      signal ? { signal } : {},
    );
    return lease.spec?.holderIdentity === this.identity;
  }

  /** Gives the Lease up, if this process still holds it: the operator sees a runner that left, not one that died. */
  async release(): Promise<void> {
    this.renewedAt = undefined;
    try {
      const lease = await this.o.client.request<LeaseObject>('GET', objectPath(Leases, this.o.namespace, this.name));
      if (lease.spec?.holderIdentity !== this.identity) return;
      await this.o.client.request('PUT', objectPath(Leases, this.o.namespace, this.name), {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '' } },
      });
    } catch (err) {
      this.o.logger.warn({ err: messageOf(err) }, 'could not release the heartbeat lease');
    }
  }

  private async renew(): Promise<void> {
    const { client, namespace, agent, agentUid, clock } = this.o;
    const started = clock.now();
    const now = microTime(started);
    const duration = Math.ceil(this.o.timeoutMs / 1000);
    for (let attempt = 0; attempt < 3; attempt++) {
      let lease: LeaseObject;
      try {
        lease = await client.request('GET', objectPath(Leases, namespace, this.name));
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await client.request('POST', collectionPath(Leases, namespace), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name: this.name,
              namespace,
              labels: { [AGENT_LABEL]: agent },
              // The Lease goes when its Agent goes.
              ownerReferences: [{ apiVersion: API_VERSION, kind: 'Agent', name: agent, uid: agentUid }],
            },
            spec: { holderIdentity: this.identity, leaseDurationSeconds: duration, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        });
        this.renewed(started);
        return;
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const ours = holder === this.identity;
      // A released Lease ('') is nobody's: taking it back is not a rivalry.
      if (!ours && holder !== '' && this.renewedAt !== undefined) {
        this.renewedAt = undefined;
        throw new LeaseTakenError(this.name, holder);
      }
      const spec = ours
        ? { ...lease.spec, leaseDurationSeconds: duration, renewTime: now }
        : {
            ...lease.spec,
            holderIdentity: this.identity,
            leaseDurationSeconds: duration,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + 1,
          };
      try {
        await client.request('PUT', objectPath(Leases, namespace, this.name), { body: { ...lease, spec } });
        if (!ours) this.o.logger.info({ previous: holder || undefined, identity: this.identity }, 'took the heartbeat lease');
        this.renewed(started);
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  private renewed(at: number): void {
    this.renewedAt = at;
    this.markAcquired();
  }
}
