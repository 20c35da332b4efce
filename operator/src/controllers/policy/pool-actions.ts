import { API_VERSION, POLICY_LABEL, POOL_LABEL, TEMPLATE_HASH_ANNOTATION, WORKLOAD_FINALIZER } from '../../api/common.ts';
import { agentKind } from '../../api/kinds.ts';
import type { PoolPlan } from '../../core/pool-plan.ts';
import { isNotFound } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import type { Expectations } from './expectations.ts';
import { agentSpec } from '../resources.ts';

const Agents = resourceOfKind(agentKind);
const MERGE = 'application/merge-patch+json';

export interface PoolTarget {
  policy: KubeObject;
  pool: string;
  /** The template without desiredState (the pool decides that). */
  template: Record<string, unknown>;
  templateHash: string;
  /** Expectations are kept under this key. */
  poolKey: string;
}

export interface CarriedOut {
  created: string[];
  woken: string[];
  slept: string[];
  removed: string[];
  rolled: string[];
}

/**
 * Writes a pool plan: each write records what the cache must show before the pool is
 * looked at again. Writes run concurrently; the first failure is thrown after the others
 * settle, so what did succeed is still expected.
 */
export async function carryOut(
  client: RestClient,
  expectations: Expectations,
  target: PoolTarget,
  plan: PoolPlan,
  agents: ReadonlyMap<string, KubeObject>,
  now: number,
  signal: AbortSignal,
): Promise<CarriedOut> {
  const { policy, pool, poolKey } = target;
  const namespace = policy.metadata.namespace ?? '';
  const done: CarriedOut = { created: [], woken: [], slept: [], removed: [], rolled: [] };
  const expect = (name: string, check: (obj: KubeObject | undefined) => boolean): void => {
    expectations.expect(poolKey, `${namespace}/${name}`, check, now);
  };
  const setState = async (name: string, desiredState: 'Active' | 'Sleeping', into: string[]): Promise<void> => {
    await ignoreNotFound(
      client.request('PATCH', objectPath(Agents, namespace, name), { body: { spec: { desiredState } }, contentType: MERGE, signal }),
    );
    expect(name, (obj) => obj === undefined || agentSpec(obj).desiredState === desiredState);
    into.push(name);
  };

  const writes: Promise<void>[] = [];
  for (let i = 0; i < plan.create; i++) {
    writes.push(
      client
        .request<KubeObject>('POST', collectionPath(Agents, namespace), {
          body: {
            apiVersion: API_VERSION,
            kind: agentKind.kind,
            metadata: {
              generateName: `${pool.slice(0, 57)}-`,
              namespace,
              labels: { [POOL_LABEL]: pool, [POLICY_LABEL]: policy.metadata.name },
              annotations: { [TEMPLATE_HASH_ANNOTATION]: target.templateHash },
              ownerReferences: [ownerReference(policy)],
              // Set here, the agent controller need not patch it on: one request less per agent a pool scales up.
              finalizers: [WORKLOAD_FINALIZER],
            },
            spec: { ...target.template, desiredState: 'Active' },
          },
          signal,
        })
        .then((created) => {
          const name = created.metadata.name ?? '';
          expect(name, (obj) => obj !== undefined);
          done.created.push(name);
        }),
    );
  }
  for (const name of plan.wake) writes.push(setState(name, 'Active', done.woken));
  for (const name of plan.sleep) writes.push(setState(name, 'Sleeping', done.slept));
  for (const name of plan.remove) {
    const uid = agents.get(name)?.metadata.uid;
    writes.push(
      ignoreNotFound(
        client.request('DELETE', objectPath(Agents, namespace, name), { body: { preconditions: uid ? { uid } : {} }, signal }),
      ).then(() => {
        expect(name, (obj) => obj === undefined || obj.metadata.deletionTimestamp !== undefined);
        done.removed.push(name);
      }),
    );
  }
  for (const name of plan.roll) {
    const current = agents.get(name);
    if (!current) continue;
    const desiredState = agentSpec(current).desiredState ?? 'Active';
    // A full update on the version we decided on: a concurrent change makes it a quiet 409.
    writes.push(
      ignoreNotFound(
        client.request('PUT', objectPath(Agents, namespace, name), {
          body: {
            ...current,
            metadata: {
              ...current.metadata,
              annotations: { ...current.metadata.annotations, [TEMPLATE_HASH_ANNOTATION]: target.templateHash },
            },
            spec: { ...target.template, desiredState },
          },
          signal,
        }),
      ).then(() => {
        expect(name, (obj) => obj === undefined || obj.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] === target.templateHash);
        done.rolled.push(name);
      }),
    );
  }
  const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return done;
}

async function ignoreNotFound(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function ownerReference(policy: KubeObject): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'OrchestratorPolicy',
    name: policy.metadata.name,
    uid: policy.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}
