import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { ResourceType } from '../../runtime/rest/resource.ts';
import { FakeClock } from '../../../../test/support/fake-clock.ts';
import { AGENT_ROLE, AgentRbac, agentAccountRbac } from './agent-rbac.ts';

/** A writer whose applies wait until the test lets them through, and stop when their signal aborts, as the REST client's do. */
function gatedWriter(): { apply: (rt: ResourceType, obj: KubeObject, signal?: AbortSignal) => Promise<KubeObject>; applied: string[]; open: () => void; fail: (err: Error) => void } {
  const applied: string[] = [];
  let gate = Promise.withResolvers<undefined>();
  return {
    applied,
    apply: async (rt, obj, signal) => {
      await Promise.race([
        gate.promise,
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => {
          reject(signal.reason as Error);
        })),
      ]);
      applied.push(`${rt.plural}/${obj.metadata.name ?? ''}`);
      return obj;
    },
    open: () => {
      gate.resolve(undefined);
    },
    fail: (err) => {
      gate.reject(err);
      gate = Promise.withResolvers<undefined>();
    },
  };
}

describe('AgentRbac.ensureNamespace', () => {
  it('applies a namespace once for every worker waiting, and one worker aborted does not fail the others', async () => {
    const writer = gatedWriter();
    const rbac = new AgentRbac(writer, new FakeClock(0));
    const first = new AbortController();
    const reason = new Error('reconcile aborted');
    const firstWait = rbac.ensureNamespace('ns', first.signal);
    const secondWait = rbac.ensureNamespace('ns', new AbortController().signal);
    first.abort(reason);
    await expect(firstWait).rejects.toBe(reason);
    writer.open();
    await expect(secondWait).resolves.toBeUndefined();
    const once = [...writer.applied];
    expect(once.length).toBeGreaterThan(0);
    // Applied: the next worker does not apply again.
    await rbac.ensureNamespace('ns');
    expect(writer.applied).toEqual(once);
  });

  it('lets every waiter see a failed apply, and applies again on the next call', async () => {
    const writer = gatedWriter();
    const rbac = new AgentRbac(writer, new FakeClock(0));
    const waits = [rbac.ensureNamespace('ns'), rbac.ensureNamespace('ns')];
    writer.fail(new Error('403 Forbidden'));
    for (const w of waits) await expect(w).rejects.toThrow('403 Forbidden');
    const again = rbac.ensureNamespace('ns');
    writer.open();
    await again;
    expect(writer.applied.length).toBeGreaterThan(0);
  });
});

describe('agentAccountRbac', () => {
  const agent = { namespace: 'ns', name: 'coder', uid: 'uid-1' };

  it('gives the account the annotations of the spec, and none without them', () => {
    const [account, binding] = agentAccountRbac(agent, { 'iam.gke.io/gcp-service-account': 'coder@p.iam.gserviceaccount.com' });
    expect(account?.object.metadata).toMatchObject({
      name: 'agent-coder',
      annotations: { 'iam.gke.io/gcp-service-account': 'coder@p.iam.gserviceaccount.com' },
      ownerReferences: [{ kind: 'Agent', name: 'coder', uid: 'uid-1', controller: true }],
    });
    expect(binding?.object).toMatchObject({ roleRef: { name: AGENT_ROLE }, subjects: [{ kind: 'ServiceAccount', name: 'agent-coder', namespace: 'ns' }] });
    expect(agentAccountRbac(agent)[0]?.object.metadata).not.toHaveProperty('annotations');
  });
});
