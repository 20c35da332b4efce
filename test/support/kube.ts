import { ApiException, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1PolicyRule } from '@kubernetes/client-node';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { waitFor } from './wait.ts';
import { agentKubeConfig, tokenKubeConfig } from './identities.ts';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';

/** Admin access to the real API server that the integration global setup provided. */
export function adminKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject('kubeconfig'));
  return kc;
}

export { tokenKubeConfig };

/**
 * A kubeconfig file for a ServiceAccount of the test cluster (a fresh token, 1 hour),
 * for processes that must run with that identity rather than as admin.
 */
export async function serviceAccountKubeconfig(namespace: string, serviceAccount: string): Promise<string> {
  const admin = adminKubeConfig();
  const core = admin.makeApiClient(CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  return writeKubeconfig(tokenKubeConfig(admin, serviceAccount, request.status?.token ?? ''));
}

/** A kubeconfig file for the runner of an agent Pod (identities.ts agentKubeConfig: its Pod-bound token). */
export async function agentKubeconfig(namespace: string, agent: string): Promise<string> {
  const admin = new RestClient(adminKubeConfig());
  try {
    return await writeKubeconfig(await agentKubeConfig(admin, inject('kubeconfig'), namespace, agent));
  } finally {
    await admin.close();
  }
}

async function writeKubeconfig(kc: KubeConfig): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'kubeconfig-')), 'config');
  await writeFile(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

/** Creates a Role with `rules` and binds it to a ServiceAccount of the same namespace. */
export async function grantRole(namespace: string, serviceAccount: string, role: string, rules: V1PolicyRule[]): Promise<void> {
  const rbac = adminKubeConfig().makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name: role }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: `${serviceAccount}-${role}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  });
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
async function createNamespace(kc: KubeConfig, prefix: string): Promise<TestNamespace> {
  const core = kc.makeApiClient(CoreV1Api);
  const ns = await core.createNamespace({ body: { metadata: { generateName: prefix } } });
  const name = ns.metadata?.name;
  if (!name) throw new Error('the API server returned a namespace without a name');
  await waitFor(
    `ServiceAccount default in ${name}`,
    async () => (await core.readNamespacedServiceAccount({ name: 'default', namespace: name })).metadata?.name,
  );
  return {
    name,
    delete: async () => {
      await core.deleteNamespace({ name });
    },
  };
}

/**
 * The message of a failed API call: the Status message the API server returned (what
 * kubectl would print), or the error's own message.
 */
export function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    if (body && typeof body === 'object' && 'message' in body && typeof body.message === 'string') return body.message;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A throwaway namespace for the enclosing describe block: created before its tests,
 * deleted after them. Read `.name` inside tests and hooks.
 */
export function useNamespace(prefix: string): { readonly name: string } {
  let ns: TestNamespace | undefined;
  beforeAll(async () => {
    ns = await createNamespace(adminKubeConfig(), prefix);
  });
  afterAll(async () => {
    await ns?.delete();
  });
  return {
    get name(): string {
      if (!ns) throw new Error(`the ${prefix} test namespace was not created; see the beforeAll error`);
      return ns.name;
    },
  };
}
