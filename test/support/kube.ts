import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import { waitFor } from './wait.ts';

/** Admin access to the real API server that the integration global setup provided. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

/** The same cluster, authenticated with a bearer token instead of the admin certificate. */
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

/** The HTTP status of a failed API call, or undefined when it is not an API error. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

export interface TestNamespace {
  name: string;
  delete(): Promise<void>;
}

/**
 * A fresh namespace with a generated name. Waits for its default ServiceAccount,
 * which the controller manager creates and which Pods in it need.
 */
export async function createNamespace(kc: KubeConfig, prefix: string): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await core.createNamespace({ body: { metadata: { generateName: prefix } } });
  const name = ns.metadata?.name;
  if (!name) throw new Error('the API server returned a namespace without a name');
  await waitFor(`ServiceAccount default in ${name}`, async () =>
    (await core.readNamespacedServiceAccount({ name: 'default', namespace: name })).metadata?.name,
  );
  return {
    name,
    delete: async () => {
      await core.deleteNamespace({ name });
    },
  };
}
