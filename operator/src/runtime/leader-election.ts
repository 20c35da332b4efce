import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import { isAborted, systemClock, type Clock } from './clock.ts';
import { isConflict, isNotFound, messageOf } from './errors.ts';
import type { RestClient } from './rest/client.ts';
import { microTime, type KubeObject } from './rest/object.ts';
import { Leases, apiVersionOf, collectionPath, objectPath } from './rest/resource.ts';

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

export interface LeaderElectionOptions {
  client: RestClient;
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity, written as the Lease's holder. */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  metric?: Gauge<'name'>;
}

export interface LeadingCallbacks {
  /** Leadership won; `leading` aborts the moment it is lost or given up. */
  onStartedLeading(leading: AbortSignal): void;
}

/**
 * Leader election on a coordination.k8s.io Lease, the way client-go does it: a Lease
 * held by another is taken only after it went unrenewed for a whole lease duration,
 * measured on this replica's own clock from when it last saw the Lease change (so clock
 * skew between replicas does not matter); writes use the Lease's resourceVersion, so two
 * candidates cannot both win.
 */
export class LeaderElector {
  private readonly o: LeaderElectionOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private observed: { spec: string; at: number } | undefined;

  constructor(options: LeaderElectionOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
  }

  // A hung request must not outlast the renew deadline, or a lost lease goes unnoticed.
  private get attemptMs(): number {
    return Math.max(1000, this.o.renewDeadlineMs / 2);
  }

  /**
   * Campaigns until `signal` aborts or leadership is lost. Returns 'lost' when a held
   * lease could not be renewed within the renew deadline, 'stopped' otherwise (after
   * releasing a held lease, so a successor need not wait out the lease).
   */
  async run(signal: AbortSignal, callbacks: LeadingCallbacks): Promise<'stopped' | 'lost'> {
    this.setLeading(false);
    if (!(await this.acquire(signal))) return 'stopped';
    const leading = new AbortController();
    this.setLeading(true);
    this.log.info('became leader');
    callbacks.onStartedLeading(leading.signal);
    const outcome = await this.renew(signal);
    this.setLeading(false);
    leading.abort();
    if (outcome === 'lost') {
      this.log.error({ renewDeadlineMs: this.o.renewDeadlineMs }, 'leadership lost: the lease was not renewed in time');
      return 'lost';
    }
    await this.release();
    return 'stopped';
  }

  private setLeading(leading: boolean): void {
    this.o.metric?.set({ name: this.o.name }, leading ? 1 : 0);
  }

  private jittered(ms: number): number {
    return ms * (1 + 0.2 * (this.o.random ?? Math.random)());
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('waiting to acquire the leader lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      await this.clock.sleep(this.jittered(this.o.retryPeriodMs), signal);
    }
    return false;
  }

  /** Renews every retry period; 'lost' once a renewal has not succeeded for renewDeadline. */
  private async renew(signal: AbortSignal): Promise<'stopped' | 'lost'> {
    let lastRenew = this.clock.now();
    while (!signal.aborted) {
      await this.clock.sleep(this.o.retryPeriodMs, signal);
      if (isAborted(signal)) break;
      if (await this.tryAcquireOrRenew()) lastRenew = this.clock.now();
      else if (this.clock.now() - lastRenew >= this.o.renewDeadlineMs) return 'lost';
    }
    return 'stopped';
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity } = this.o;
    const now = this.clock.now();
    const stamp = microTime(now);
    const mine: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', objectPath(Leases, namespace, name), { timeoutMs: this.attemptMs, priority: 'high' });
    } catch (err) {
      if (!isNotFound(err)) {
        this.log.warn({ err: messageOf(err) }, 'reading the leader lease failed');
        return false;
      }
      return this.write('POST', collectionPath(Leases, namespace), {
        apiVersion: apiVersionOf(Leases),
        kind: Leases.kind,
        metadata: { name, namespace },
        spec: mine,
      });
    }
    const spec = lease.spec ?? {};
    const fingerprint = JSON.stringify(spec);
    if (this.observed?.spec !== fingerprint) this.observed = { spec: fingerprint, at: now };
    const held = !!spec.holderIdentity && spec.holderIdentity !== identity;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (held && this.observed.at + durationMs > now) return false;
    const wasMine = spec.holderIdentity === identity;
    return this.write('PUT', objectPath(Leases, namespace, name), {
      ...lease,
      spec: {
        ...mine,
        acquireTime: wasMine && spec.acquireTime ? spec.acquireTime : stamp,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (wasMine ? 0 : 1),
      },
    });
  }

  private async write(method: 'POST' | 'PUT', path: string, lease: Lease): Promise<boolean> {
    try {
      const written = await this.o.client.request<Lease>(method, path, { body: lease, timeoutMs: this.attemptMs, priority: 'high' });
      this.observed = { spec: JSON.stringify(written.spec ?? {}), at: this.clock.now() };
      return true;
    } catch (err) {
      // 409: another candidate wrote first; it wins this round.
      if (!isConflict(err)) this.log.warn({ err: messageOf(err) }, 'writing the leader lease failed');
      return false;
    }
  }

  /** Gives the lease up so a successor can take it at once. */
  private async release(): Promise<void> {
    const { client, namespace, name, identity } = this.o;
    try {
      const lease = await client.request<Lease>('GET', objectPath(Leases, namespace, name));
      if (lease.spec?.holderIdentity !== identity) return;
      const now = microTime(this.clock.now());
      await client.request('PUT', objectPath(Leases, namespace, name), {
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        },
      });
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.warn({ err: messageOf(err) }, 'releasing the leader lease failed; a successor waits out the lease');
    }
  }
}
