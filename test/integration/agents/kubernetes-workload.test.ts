import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind } from '../../../operator/src/api/kinds.ts';
import { WORKSPACE_FS_GROUP } from '../../../operator/src/runtimes/kubernetes/pod-spec.ts';
import { isNotFound } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { chartOperatorIdentity } from '../../support/chart-rbac.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
// The local plane has no provisioner and no kubelet: these tests look at the objects the
// operator makes (Pod, claim, ServiceAccount), not at mounts.
const claimPath = (ns: string, name: string): string => `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`;
const accountPath = (ns: string, name: string): string => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`;
// RuntimeClasses are cluster-wide: one per run, so runs on a shared plane do not collide.
const runtimeClass = `sandboxed-${randomUUID().slice(0, 8)}`;
const OPERATOR = 'operator';

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[] } };
type PodSpec = {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: unknown;
  imagePullSecrets?: unknown[];
  runtimeClassName?: string;
  volumes: unknown[];
  containers: { workingDir?: string; resources?: unknown; volumeMounts: unknown[] }[];
};

describe('Agents of runtime kubernetes with a workspace, placement and their own ServiceAccount', () => {
  beforeAll(installCrds);
  const ns = useNamespace('agents-k8s-workload-');
  let operator: RunningOperator | undefined;
  beforeAll(async () => {
    // The RuntimeClass admission plugin refuses a Pod whose class does not exist.
    await client.request('POST', '/apis/node.k8s.io/v1/runtimeclasses', {
      body: { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: runtimeClass }, handler: 'runsc' },
    });
    // The operator under the chart's RBAC for a watched namespace, not as admin: the claim,
    // the annotated account and its binding are made with what an install grants.
    const identity = await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, OPERATOR);
    operator = await startOperator(ns.name, { AO_AGENT_DRAIN_GRACE: '5' }, [], identity.kubeConfig);
  });
  afterAll(async () => {
    await operator?.stop();
    await client.request('DELETE', `/apis/node.k8s.io/v1/runtimeclasses/${runtimeClass}`).catch(() => undefined);
  });

  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const found = <T>(path: string): Promise<T | undefined> =>
    client.request<T>('GET', path).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  const pod = (name: string): Promise<KubeObject | undefined> => found(objectPath(Pods, ns.name, `agent-${name}`));
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    client.request('PATCH', objectPath(Agents, ns.name, name), { body: { spec }, contentType: 'application/merge-patch+json' });
  const createAgent = (name: string, runtime: Record<string, unknown>): Promise<AgentObj> =>
    client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: ['code'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev', ...runtime },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 3 },
        },
      },
    });

  it('makes the Pod, the workspace claim and the annotated account; keeps the claim across sleep, wake and roll; all go with the Agent', async () => {
    const affinity = {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 1, preference: { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a100'] }] } },
        ],
      },
    };
    const agent = await createAgent('coder', {
      workspace: { size: '5Gi', storageClassName: 'fast', mountPath: '/home/agent/work' },
      workingDir: '/home/agent/work',
      resources: { limits: { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': 1 } },
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      affinity,
      imagePullSecrets: [{ name: 'regcred' }],
      runtimeClassName: runtimeClass,
      serviceAccount: { annotations: { 'iam.gke.io/gcp-service-account': 'coder@project.iam.gserviceaccount.com' } },
    });
    const first = await waitFor('the Pod', () => pod('coder'));
    const spec = first.spec as PodSpec;
    expect(spec).toMatchObject({
      serviceAccountName: 'agent-coder',
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: expect.arrayContaining([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]) as unknown,
      affinity,
      imagePullSecrets: [{ name: 'regcred' }],
      runtimeClassName: runtimeClass,
    });
    expect(spec.securityContext).toMatchObject({ fsGroup: WORKSPACE_FS_GROUP, fsGroupChangePolicy: 'OnRootMismatch' });
    expect(spec.volumes).toContainEqual({ name: 'workspace', persistentVolumeClaim: { claimName: 'agent-coder-workspace' } });
    expect(spec.containers[0]?.volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/home/agent/work' });
    expect(spec.containers[0]?.workingDir).toBe('/home/agent/work');
    // The API server defaults requests of an extended resource to its limit.
    expect(spec.containers[0]?.resources).toEqual({
      limits: { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': '1' },
      requests: { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': '1' },
    });

    type Claim = KubeObject & { spec: { resources: { requests: { storage: string } }; storageClassName?: string; accessModes: string[] } };
    const claim = await found<Claim>(claimPath(ns.name, 'agent-coder-workspace'));
    expect(claim?.metadata.ownerReferences).toEqual([
      { apiVersion: API_VERSION, kind: 'Agent', name: 'coder', uid: agent.metadata.uid, controller: true, blockOwnerDeletion: true },
    ]);
    expect(claim?.spec).toMatchObject({
      resources: { requests: { storage: '5Gi' } },
      storageClassName: 'fast',
      accessModes: ['ReadWriteOnce'],
    });

    const account = await found<KubeObject>(accountPath(ns.name, 'agent-coder'));
    expect(account?.metadata.annotations).toMatchObject({ 'iam.gke.io/gcp-service-account': 'coder@project.iam.gserviceaccount.com' });
    expect(account?.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Agent', uid: agent.metadata.uid });
    const binding = await found<KubeObject & { roleRef: { name: string }; subjects: unknown[] }>(
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings/agent-coder`,
    );
    expect(binding?.roleRef.name).toBe('agent-coder');
    expect(binding?.subjects).toEqual([{ kind: 'ServiceAccount', name: 'agent-coder', namespace: ns.name }]);

    // Asleep: the Pod goes, the workspace stays.
    await patchSpec('coder', { desiredState: 'Sleeping' });
    await waitFor('Sleeping without a Pod', async () =>
      (await get('coder')).status?.phase === 'Sleeping' && !(await pod('coder')) ? true : undefined,
    );
    expect((await found<Claim>(claimPath(ns.name, 'agent-coder-workspace')))?.metadata.uid).toBe(claim?.metadata.uid);

    // Awake: a new Pod on the same claim.
    await patchSpec('coder', { desiredState: 'Active' });
    const woken = await waitFor('a new Pod', async () => {
      const p = await pod('coder');
      return p && p.metadata.uid !== first.metadata.uid ? p : undefined;
    });
    expect((woken.spec as PodSpec).volumes).toContainEqual({
      name: 'workspace',
      persistentVolumeClaim: { claimName: 'agent-coder-workspace' },
    });

    // A changed annotation reaches the account; a changed placement rolls the Pod onto the same claim.
    await patchSpec('coder', {
      // null removes a key in a merge patch.
      runtime: {
        nodeSelector: { 'kubernetes.io/arch': 'arm64' },
        serviceAccount: {
          annotations: { 'iam.gke.io/gcp-service-account': null, 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/coder' },
        },
      },
    });
    const rolled = await waitFor('a Pod with the new nodeSelector', async () => {
      const p = await pod('coder');
      return p && (p.spec as PodSpec).nodeSelector?.['kubernetes.io/arch'] === 'arm64' ? p : undefined;
    });
    expect(rolled.metadata.uid).not.toBe(woken.metadata.uid);
    expect((await found<Claim>(claimPath(ns.name, 'agent-coder-workspace')))?.metadata.uid).toBe(claim?.metadata.uid);
    const annotated = await found<KubeObject>(accountPath(ns.name, 'agent-coder'));
    expect(annotated?.metadata.annotations?.['eks.amazonaws.com/role-arn']).toBe('arn:aws:iam::1:role/coder');
    expect(annotated?.metadata.annotations).not.toHaveProperty('iam.gke.io/gcp-service-account');

    // Deleted: the Agent, then its claim and account (the garbage collector follows the
    // owner; on a plane started for this run it learns of the Agent kind at its next
    // discovery, up to 30 s later).
    await client.request('DELETE', objectPath(Agents, ns.name, 'coder'));
    await waitFor(
      'the Agent, its claim and its account to be gone',
      async () =>
        !(await found(objectPath(Agents, ns.name, 'coder'))) &&
        !(await found(claimPath(ns.name, 'agent-coder-workspace'))) &&
        !(await found(accountPath(ns.name, 'agent-coder')))
          ? true
          : undefined,
      { timeoutMs: 90_000 },
    );
  });

  it('mounts an ephemeral workspace as an emptyDir and makes no claim', async () => {
    await createAgent('scratch', { workspace: { ephemeral: true, size: '1Gi' } });
    const made = await waitFor('the Pod', () => pod('scratch'));
    const spec = made.spec as PodSpec;
    expect(spec.volumes).toContainEqual({ name: 'workspace', emptyDir: { sizeLimit: '1Gi' } });
    expect(spec.containers[0]?.volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/workspace' });
    expect(spec.serviceAccountName).toBe('agent-scratch');
    expect(await found(claimPath(ns.name, 'agent-scratch-workspace'))).toBeUndefined();
  });

  it('says in the Agent’s conditions and Events why the API server refused its Pod (an affinity it cannot take)', async () => {
    await createAgent('misplaced', {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'Near', values: ['a100'] }] }],
          },
        },
      },
    });
    const failed = await waitFor('Failed with the refusal', async () => {
      const a = await get('misplaced');
      return a.status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'InvalidSpec') ? a : undefined;
    });
    expect(failed.status?.phase).toBe('Failed');
    const ready = failed.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.message).toMatch(
      /^the API server refused Pod agent-misplaced: 422 Invalid: Pod "agent-misplaced" is invalid: spec\.affinity\.nodeAffinity\.\S+\.operator: Invalid value: "Near": not a valid selector operator; retrying in \d+s$/,
    );
    const event = await waitFor('a Warning Event', async () => {
      const events = await client.request<{ items: { reason?: string; type?: string; note?: string; regarding?: { name?: string } }[] }>(
        'GET',
        `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
      );
      return events.items.find((e) => e.regarding?.name === 'misplaced' && e.reason === 'InvalidSpec');
    });
    expect(event.type).toBe('Warning');
    expect(event.note).toMatch(/operator: Invalid value: "Near": not a valid selector operator/);
    expect(await pod('misplaced')).toBeUndefined();
  });
});
