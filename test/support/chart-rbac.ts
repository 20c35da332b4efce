import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import { must, repo } from './hack-scripts.ts';
import { serviceAccountKubeConfig } from './identities.ts';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

let helmBinary: string | undefined;

/**
 * The operator's rules as the chart renders them for one watched namespace (the Role of
 * `watchNamespaces: [namespace]`), with `sets` as `helm template --set` values: so a test
 * can run the operator under exactly what an install grants, not as admin.
 */
export function chartOperatorRules(namespace: string, sets: readonly string[] = []): PolicyRule[] {
  helmBinary ??= must('control-plane.sh', ['helm']);
  const rendered = execFileSync(
    helmBinary,
    [
      'template',
      'rules',
      path.join(repo, 'charts/agent-orchestrator'),
      '--namespace',
      'chart-rules-release',
      '--show-only',
      'templates/rbac.yaml',
      '--set',
      `watchNamespaces={${namespace}}`,
      ...sets.flatMap((s) => ['--set', s]),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const role = parseAllDocuments(rendered)
    .map((d) => d.toJS() as { kind?: string; metadata?: { namespace?: string }; rules?: PolicyRule[] } | null)
    .find((d) => d?.kind === 'Role' && d.metadata?.namespace === namespace);
  if (!role?.rules) throw new Error(`the chart rendered no Role for namespace ${namespace}`);
  return role.rules;
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces';

/**
 * A ServiceAccount `name` in the namespace bound to a Role holding the chart's operator
 * rules for it (with `sets`), and a kubeconfig acting as it: start an operator with it to
 * test under exactly what an install grants. `regrant` renders the rules again with other
 * values, as a `helm upgrade --set` would.
 */
export async function chartOperatorIdentity(
  client: RestClient,
  adminKubeconfig: string,
  namespace: string,
  name: string,
  sets: readonly string[] = [],
): Promise<{ kubeConfig: KubeConfig; regrant: (sets: readonly string[]) => Promise<PolicyRule[]> }> {
  await client.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, {
    body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } },
  });
  await client.request('POST', `${RBAC}/${namespace}/roles`, {
    body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name }, rules: chartOperatorRules(namespace, sets) },
  });
  await client.request('POST', `${RBAC}/${namespace}/rolebindings`, {
    body: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
  const regrant = async (next: readonly string[]): Promise<PolicyRule[]> => {
    const rules = chartOperatorRules(namespace, next);
    await client.request('PATCH', `${RBAC}/${namespace}/roles/${name}`, { body: { rules }, contentType: 'application/merge-patch+json' });
    return rules;
  };
  return { kubeConfig: await serviceAccountKubeConfig(client, adminKubeconfig, namespace, name), regrant };
}
