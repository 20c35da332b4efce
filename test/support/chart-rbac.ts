import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { must, repo } from './hack-scripts.ts';

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
      'template', 'rules', path.join(repo, 'charts/agent-orchestrator'),
      '--namespace', 'chart-rules-release', '--show-only', 'templates/rbac.yaml',
      '--set', `watchNamespaces={${namespace}}`,
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
