import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';

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

/** A kubeconfig acting as a ServiceAccount, with a fresh token from the TokenRequest API. */
export async function serviceAccountKubeConfig(
  admin: RestClient,
  adminKubeconfig: string,
  namespace: string,
  serviceAccount: string,
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const token = await admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  return tokenKubeConfig(kc, `system:serviceaccount:${namespace}:${serviceAccount}`, token.status.token);
}

/** A client that acts as a ServiceAccount. */
export async function serviceAccountClient(admin: RestClient, adminKubeconfig: string, namespace: string, serviceAccount: string): Promise<RestClient> {
  return new RestClient(await serviceAccountKubeConfig(admin, adminKubeconfig, namespace, serviceAccount));
}

/** An agent's client: its ServiceAccount is agent-<name>, in the Agent's namespace. */
export const agentClient = (admin: RestClient, kubeconfig: string, namespace: string, agent: string): Promise<RestClient> =>
  serviceAccountClient(admin, kubeconfig, namespace, `agent-${agent}`);
