import type { Logger } from 'pino';
import { AGENT_LABEL, API_VERSION } from '../operator/src/api/common.ts';
import { isAborted, type Clock } from '../operator/src/runtime/clock.ts';
import { isConflict, isNotFound, messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { microTime, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath } from '../operator/src/runtime/rest/resource.ts';

export interface HeartbeatOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  agentUid: string;
  intervalMs: number;
  timeoutMs: number;
  clock: Clock;
  logger: Logger;
}

/** The Lease that says this agent is alive: `agent-<name>`, renewed every interval. */
export class Heartbeat {
  private readonly o: HeartbeatOptions;
  private readonly name: string;

  constructor(options: HeartbeatOptions) {
    this.o = options;
    this.name = `agent-${options.agent}`;
  }

  /** Renews until `signal` aborts. A failed renewal is retried at the next interval. */
  async run(signal: AbortSignal): Promise<void> {
    while (!isAborted(signal)) {
      try {
        await this.renew(this.o.agent);
      } catch (err) {
        this.o.logger.warn({ err: messageOf(err) }, 'heartbeat renewal failed');
      }
      await this.o.clock.sleep(this.o.intervalMs, signal);
    }
  }

  /** Gives the Lease up: the operator sees a runner that left, not one that died. */
  async release(): Promise<void> {
    await this.renew('').catch((err: unknown) => {
      this.o.logger.warn({ err: messageOf(err) }, 'could not release the heartbeat lease');
    });
  }

  private async renew(holder: string): Promise<void> {
    const { client, namespace, agent, agentUid, clock } = this.o;
    const now = microTime(clock.now());
    const spec = { holderIdentity: holder, leaseDurationSeconds: Math.ceil(this.o.timeoutMs / 1000), renewTime: now };
    for (let attempt = 0; attempt < 3; attempt++) {
      let lease: KubeObject & { spec?: Record<string, unknown> };
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
            spec: { ...spec, acquireTime: now },
          },
        });
        return;
      }
      try {
        await client.request('PUT', objectPath(Leases, namespace, this.name), { body: { ...lease, spec: { ...lease.spec, ...spec } } });
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }
}
