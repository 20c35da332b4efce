import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';

/** A client that acts as a ServiceAccount, with a fresh token from the TokenRequest API. */
export async function serviceAccountClient(admin: RestClient, kubeconfig: string, namespace: string, serviceAccount: string): Promise<RestClient> {
  const token = await admin.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
  });
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfig} has no current cluster`);
  const user = `system:serviceaccount:${namespace}:${serviceAccount}`;
  const sa = new KubeConfig();
  sa.loadFromOptions({ clusters: [cluster], users: [{ name: user, token: token.status.token }], contexts: [{ name: user, cluster: cluster.name, user }], currentContext: user });
  return new RestClient(sa);
}

/** An agent's client: its ServiceAccount is agent-<name>, in the Agent's namespace. */
export const agentClient = (admin: RestClient, kubeconfig: string, namespace: string, agent: string): Promise<RestClient> =>
  serviceAccountClient(admin, kubeconfig, namespace, `agent-${agent}`);
