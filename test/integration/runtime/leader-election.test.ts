import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const LEASE_SECONDS = 4;
const RETRY_SECONDS = 1;

type LeaseSpec = {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  leaseTransitions?: number;
  acquireTime?: string;
  renewTime?: string;
};
type Lease = KubeObject & { spec: LeaseSpec };

describe('leader election between two operator processes', () => {
  beforeAll(installCrds);
  const ns = useNamespace('leader-');
  const processes: OperatorProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });

  function replicas(lease: string): Record<string, OperatorProcess> {
    const byIdentity: Record<string, OperatorProcess> = {};
    for (const identity of ['replica-a', 'replica-b']) {
      const p = new OperatorProcess({
        AO_LEADER_ELECTION_NAMESPACE: ns.name,
        AO_LEADER_ELECTION_ID: lease,
        AO_IDENTITY: identity,
        AO_LEADER_ELECT_LEASE_DURATION: String(LEASE_SECONDS),
        AO_LEADER_ELECT_RENEW_DEADLINE: '3',
        AO_LEADER_ELECT_RETRY_PERIOD: String(RETRY_SECONDS),
      });
      processes.push(p);
      byIdentity[identity] = p;
    }
    return byIdentity;
  }

  const holder = async (lease: string): Promise<string | undefined> => {
    try {
      return (await client.request<Lease>('GET', objectPath(Leases, ns.name, lease))).spec.holderIdentity || undefined;
    } catch {
      return undefined;
    }
  };

  /**
   * Every version of the Lease written after resourceVersion `from`, up to the first that
   * `successor` holds: whether a successor took a released Lease or an expired one shows in
   * the versions between, whatever the timing.
   */
  function leaseVersions(lease: string, from: string, successor: string): Promise<LeaseSpec[]> {
    const versions: LeaseSpec[] = [];
    const watched = (async () => {
      const query = { fieldSelector: `metadata.name=${lease}`, resourceVersion: from, timeoutSeconds: 60 };
      for await (const event of client.watch<Lease>(collectionPath(Leases, ns.name), query, AbortSignal.timeout(90_000))) {
        if (event.type === 'ERROR') throw new Error(`watching the Lease failed: ${JSON.stringify(event.object)}`);
        versions.push(event.object.spec);
        if (event.object.spec.holderIdentity === successor) return versions;
      }
      throw new Error(`the watch ended before ${successor} held the Lease; versions seen: ${JSON.stringify(versions)}`);
    })();
    // Awaited later; until then a failure must not surface as an unhandled rejection.
    watched.catch(() => undefined);
    return watched;
  }

  const leaderGauge = async (p: OperatorProcess, lease: string): Promise<string | undefined> =>
    new RegExp(`leader_election_master_status\\{name="${lease}"\\} (\\d)`).exec((await p.get('/metrics')).body)?.[1];

  it('elects exactly one leader, and the other takes over once the lease runs out after a SIGKILL', async () => {
    const lease = 'takeover';
    const all = replicas(lease);
    const first = await waitFor('a leader', () => holder(lease));
    const [leaderId, followerId] = first === 'replica-a' ? ['replica-a', 'replica-b'] : ['replica-b', 'replica-a'];
    const leader = all[leaderId];
    const follower = all[followerId];
    if (!leader || !follower) throw new Error(`unexpected holder ${first}`);

    // Both are up and have campaigned; only one says it leads.
    await follower.waitForLog('campaigning', (l) => l.msg === 'waiting to acquire the leader lease');
    expect(await waitFor('the leader gauge', async () => ((await leaderGauge(leader, lease)) === '1' ? '1' : undefined))).toBe('1');
    expect(await leaderGauge(follower, lease)).toBe('0');
    expect(follower.logs.some((l) => l.msg === 'became leader')).toBe(false);
    // The leader keeps renewing, and keeps the lease.
    const read = (): Promise<Lease> => client.request<Lease>('GET', objectPath(Leases, ns.name, lease));
    const renewed = (await read()).spec.renewTime;
    const later = await waitFor('a renewal', async () => {
      const l = await read();
      return l.spec.renewTime !== renewed ? l : undefined;
    });
    expect(later.spec.holderIdentity).toBe(leaderId);

    // How soon the follower takes over is bench/failover.ts's to measure; this test waits for it.
    const versions = leaseVersions(lease, later.metadata.resourceVersion ?? '', followerId);
    leader.kill('SIGKILL');
    await waitFor('the follower to take over', async () => ((await holder(lease)) === followerId ? true : undefined), {
      timeoutMs: 60_000,
    });
    await follower.waitForLog('became leader', (l) => l.msg === 'became leader');
    expect(await leaderGauge(follower, lease)).toBe('1');
    expect((await client.request<Lease>('GET', objectPath(Leases, ns.name, lease))).spec.leaseTransitions).toBe(1);

    // Not released (SIGKILL): the follower took the lease straight from the dead leader...
    const seen = await versions;
    const taken = seen.at(-1);
    const lastRenewed = seen.at(-2) ?? later.spec;
    expect(seen.slice(0, -1).filter((v) => v.holderIdentity !== leaderId)).toEqual([]);
    expect(taken).toMatchObject({ holderIdentity: followerId, leaseTransitions: 1 });
    // ...and only once the leader's last renewal had gone a lease duration unrenewed: it did
    // not steal a live lease. The follower counts from when it read that renewal, which may
    // be a request's latency earlier than the leader stamped it: hence the retry period's slack.
    const unrenewedMs = Date.parse(taken?.acquireTime ?? '') - Date.parse(lastRenewed.renewTime ?? '');
    expect(unrenewedMs).toBeGreaterThanOrEqual((LEASE_SECONDS - RETRY_SECONDS) * 1000);
  });

  it('releases the lease to the other when the leader shuts down gracefully', async () => {
    const lease = 'handover';
    const all = replicas(lease);
    const leaderId = await waitFor('a leader', () => holder(lease));
    const followerId = leaderId === 'replica-a' ? 'replica-b' : 'replica-a';
    const leader = all[leaderId];
    const follower = all[followerId];
    if (!leader || !follower) throw new Error(`unexpected holder ${leaderId}`);
    await follower.waitForLog('campaigning', (l) => l.msg === 'waiting to acquire the leader lease');
    const before = await client.request<Lease>('GET', objectPath(Leases, ns.name, lease));
    expect(before.spec.holderIdentity).toBe(leaderId);
    const versions = leaseVersions(lease, before.metadata.resourceVersion ?? '', followerId);
    leader.kill('SIGTERM');
    expect((await leader.exited).code).toBe(0);
    expect(leader.logs.some((l) => l.msg === 'released the leader lease')).toBe(true);
    await waitFor('the follower to take over', async () => ((await holder(lease)) === followerId ? true : undefined), {
      timeoutMs: 60_000,
    });

    // Released, not waited out: the version just before the follower's is the leader's
    // release (no holder, a one-second lease), and the follower took it from there.
    const seen = await versions;
    const released = seen.at(-2);
    expect(released).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: before.spec.leaseTransitions });
    expect(seen.at(-1)).toMatchObject({ holderIdentity: followerId, leaseTransitions: (before.spec.leaseTransitions ?? 0) + 1 });
    expect(seen.slice(0, -2).filter((v) => v.holderIdentity !== leaderId)).toEqual([]);
  });
});
