import { AppsV1Api, CoreV1Api, VersionApi, type V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { adminKubeConfig, grantRole, statusOf, tokenKubeConfig, useNamespace } from '../support/kube.ts';
import { waitFor } from '../support/wait.ts';

// These prove the plane is a real Kubernetes control plane, not a stand-in: the
// scheduler binds, kwok runs Pods, the controller manager reconciles, RBAC denies.
describe('local control plane', () => {
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const ns = useNamespace('smoke-');

  it('serves the pinned Kubernetes version on 127.0.0.1 only', async () => {
    const version = await kc.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe('v1.34.4');
    expect(new URL(kc.getCurrentCluster()?.server ?? '').hostname).toBe('127.0.0.1');
  });

  it('creates a namespace that is Active', async () => {
    const read = await core.readNamespace({ name: ns.name });
    expect(read.status?.phase).toBe('Active');
  });

  it('binds a Pod with a nodeSelector to a kwok node, where it reaches Running', async () => {
    await core.createNamespacedPod({
      namespace: ns.name,
      body: {
        metadata: { name: 'selected' },
        spec: {
          nodeSelector: { type: 'kwok' },
          containers: [{ name: 'main', image: 'agent-orchestrator/busybox:test' }],
        },
      },
    });
    const pod = await waitFor('Pod selected to be Running', async () => {
      const p = await core.readNamespacedPod({ name: 'selected', namespace: ns.name });
      return p.status?.phase === 'Running' ? p : undefined;
    });
    expect(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    const nodeName = pod.spec?.nodeName ?? '';
    const node = await core.readNode({ name: nodeName });
    expect(node.metadata?.annotations?.['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.metadata?.labels?.type).toBe('kwok');
  });

  it('reconciles a Deployment into a ReplicaSet and Running Pods', async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: 'web' };
    const deployment = await apps.createNamespacedDeployment({
      namespace: ns.name,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: { containers: [{ name: 'main', image: 'agent-orchestrator/busybox:test' }] },
          },
        },
      },
    });
    await waitFor('Deployment web to have 2 available replicas', async () => {
      const d = await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name });
      return d.status?.availableReplicas === 2 ? d : undefined;
    });
    const replicaSets = await apps.listNamespacedReplicaSet({ namespace: ns.name, labelSelector: 'app=web' });
    expect(replicaSets.items).toHaveLength(1);
    const rs = replicaSets.items[0];
    expect(rs?.metadata?.ownerReferences?.[0]?.uid).toBe(deployment.metadata?.uid);
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
    expect(pods.items.map((p: V1Pod) => p.status?.phase)).toEqual(['Running', 'Running']);
    for (const p of pods.items) expect(p.metadata?.ownerReferences?.[0]?.uid).toBe(rs?.metadata?.uid);
  });

  it('denies a ServiceAccount without a role, and allows it once bound to one', async () => {
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'no-role' } } });
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'no-role',
      namespace: ns.name,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token ?? '';
    const asAgent = tokenKubeConfig(kc, 'no-role', token).makeApiClient(CoreV1Api);

    const denied = await asAgent.listNamespacedPod({ namespace: ns.name }).then(
      () => 200,
      (err: unknown) => statusOf(err),
    );
    expect(denied).toBe(403);

    // The token authenticates: granting a role turns the same call into a success.
    await grantRole(ns.name, 'no-role', 'pod-reader', [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    const allowed = await waitFor('the RoleBinding to take effect', () => asAgent.listNamespacedPod({ namespace: ns.name }));
    expect(allowed.kind ?? 'PodList').toBe('PodList');
    const stillDenied = await asAgent.listNamespacedSecret({ namespace: ns.name }).then(
      () => 200,
      (err: unknown) => statusOf(err),
    );
    expect(stillDenied).toBe(403);
  });
});
