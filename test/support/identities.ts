import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';

// Not vitest-bound: hack/ scripts (the host operator, the kwok runners) use these too.

/** The cluster of `admin`, authenticated with a bearer token instead of the admin certificate. */
export function tokenKubeConfig(admin: KubeConfig, user: string, token: string): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}

/** What a token may be bound to: the Pod it was minted for, as the kubelet binds a Pod's token. */
export interface BoundPod {
  name: string;
  uid: string;
}

/**
 * A kubeconfig acting as a ServiceAccount, with a fresh token from the TokenRequest API;
 * bound to `pod` when given, so the API server knows the Pod too (and the token dies with it).
 */
export async function serviceAccountKubeConfig(
  admin: RestClient,
  adminKubeconfig: string,
  namespace: string,
  serviceAccount: string,
  expirationSeconds = 3600,
  pod?: BoundPod,
): Promise<KubeConfig> {
  const boundObjectRef = pod ? { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } : undefined;
  const token = await admin.request<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds, ...(boundObjectRef ? { boundObjectRef } : {}) },
      },
    },
  );
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  return tokenKubeConfig(kc, `system:serviceaccount:${namespace}:${serviceAccount}`, token.status.token);
}

/** A client that acts as a ServiceAccount. */
export async function serviceAccountClient(
  admin: RestClient,
  adminKubeconfig: string,
  namespace: string,
  serviceAccount: string,
): Promise<RestClient> {
  return new RestClient(await serviceAccountKubeConfig(admin, adminKubeconfig, namespace, serviceAccount));
}

/**
 * What the runner in an agent's Pod reaches the API server as: the Pod's ServiceAccount,
 * with a token bound to the Pod agent-<agent> (kwok Pods run no kubelet to mount one).
 * Fails while the Pod does not exist.
 */
export async function agentKubeConfig(admin: RestClient, adminKubeconfig: string, namespace: string, agent: string): Promise<KubeConfig> {
  const pod = await admin.request<KubeObject & { spec: { serviceAccountName?: string } }>(
    'GET',
    `/api/v1/namespaces/${namespace}/pods/agent-${agent}`,
  );
  const bound = { name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' };
  return serviceAccountKubeConfig(admin, adminKubeconfig, namespace, pod.spec.serviceAccountName ?? 'default', 3600, bound);
}

/** An agent's client, as its Pod's runner has it (agentKubeConfig). */
export const agentClient = async (admin: RestClient, kubeconfig: string, namespace: string, agent: string): Promise<RestClient> =>
  new RestClient(await agentKubeConfig(admin, kubeconfig, namespace, agent));
