import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Leases, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const LEASE_SECONDS = 4;
const RETRY_SECONDS = 1;

type Lease = KubeObject & { spec: { holderIdentity?: string; leaseTransitions?: number; renewTime?: string } };

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

  const leaderGauge = async (p: OperatorProcess, lease: string): Promise<string | undefined> =>
    new RegExp(`leader_election_master_status\\{name="${lease}"\\} (\\d)`).exec((await p.get('/metrics')).body)?.[1];

  it('elects exactly one leader, and the other takes over within the lease duration after a SIGKILL', async () => {
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

    leader.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor('the follower to take over', async () => ((await holder(lease)) === followerId ? true : undefined), {
      timeoutMs: (LEASE_SECONDS + 5) * 1000,
    });
    const tookMs = Date.now() - killedAt;
    await follower.waitForLog('became leader', (l) => l.msg === 'became leader');
    // Not released (SIGKILL): it waited for the lease to run out, and no longer than that.
    expect(tookMs).toBeGreaterThanOrEqual((LEASE_SECONDS - RETRY_SECONDS * 1.2) * 1000 - 500);
    expect(tookMs).toBeLessThanOrEqual((LEASE_SECONDS + RETRY_SECONDS * 1.2) * 1000 + 1500);
    expect(await leaderGauge(follower, lease)).toBe('1');
    expect((await client.request<Lease>('GET', objectPath(Leases, ns.name, lease))).spec.leaseTransitions).toBe(1);
  });

  it('hands over at once when the leader shuts down gracefully', async () => {
    const lease = 'handover';
    const all = replicas(lease);
    const leaderId = await waitFor('a leader', () => holder(lease));
    const followerId = leaderId === 'replica-a' ? 'replica-b' : 'replica-a';
    const leader = all[leaderId];
    const follower = all[followerId];
    await follower?.waitForLog('campaigning', (l) => l.msg === 'waiting to acquire the leader lease');
    leader?.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect((await leader?.exited)?.code).toBe(0);
    await waitFor('the follower to take over', async () => ((await holder(lease)) === followerId ? true : undefined));
    // Released: well before the lease would have run out.
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_SECONDS * 1000);
  });
});
