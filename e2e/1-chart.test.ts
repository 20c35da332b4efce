import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { repo } from '../test/support/hack-scripts.ts';
import { helm } from './support/cluster.ts';
import { exportedMetrics } from './support/exported-metrics.ts';
import { metricNames } from '../hack/promql.ts';

const chart = path.join(repo, 'charts/agent-orchestrator');
const all = path.join(repo, 'e2e/values-all.yaml');
/** Two SLOs in the policies, with the PrometheusRule on: the SLO rules are rendered. */
const sloValues = path.join(repo, 'e2e/prometheus/slo-values.yaml');
type Doc = { kind: string; metadata: { name: string; namespace?: string }; spec?: Record<string, unknown> };
const render = (args: string[]): Doc[] =>
  parseAllDocuments(helm(inject('e2e'), ['template', 'ao', chart, '--namespace', 'ao-system', ...args]))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);

/** promtool, built from the Go module proxy by hack/build-tools.sh (a no-op once built). */
function promtool(args: string[]): string {
  const bin = execFileSync(path.join(repo, 'hack/build-tools.sh'), ['promtool'], { encoding: 'utf8' }).trim();
  try {
    return execFileSync(path.join(bin, 'promtool'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')}:\n${stdout ?? ''}${stderr ?? String(err)}`, { cause: err });
  }
}

/** Every PromQL expression (`expr`) in a Grafana dashboard or a PrometheusRule. */
function exprsOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(exprsOf);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => (k === 'expr' && typeof v === 'string' ? [v] : exprsOf(v)));
}

describe('the chart', () => {
  it.each([
    ['default values', []],
    ['every feature on', ['-f', all]],
  ])('passes helm lint --strict with %s', (_what, args) => {
    expect(helm(inject('e2e'), ['lint', '--strict', chart, ...args])).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it('renders the operator, its RBAC, the admission policies (agents, plugins), the metrics Service and the NetworkPolicy by default', () => {
    const kinds = render([])
      .map((d) => d.kind)
      .sort();
    expect(kinds).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'NetworkPolicy',
      'Service',
      'ServiceAccount',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ValidatingAdmissionPolicyBinding',
    ]);
  });

  it('renders every optional object with every feature on, and the server accepts the core ones', () => {
    const docs = render(['-f', all]);
    const kinds = docs.map((d) => d.kind);
    for (const k of ['PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule', 'ConfigMap', 'OrchestratorPolicy', 'Role', 'RoleBinding'])
      expect(kinds).toContain(k);
    // Namespace-scoped mode: no cluster-wide grant; a Role in each watched namespace and the release's.
    expect(kinds).not.toContain('ClusterRole');
    expect(
      docs
        .filter((d) => d.kind === 'Role')
        .map((d) => d.metadata.namespace)
        .sort(),
    ).toEqual(['ao-system', 'team-a', 'team-b']);
    // Secrets (hooks, docker agents) and ConfigMaps the operator reads: get, by name, nothing more.
    const teamA = docs.find((d) => d.kind === 'Role' && d.metadata.namespace === 'team-a') as unknown as {
      rules: { resources: string[] }[];
    };
    expect(teamA.rules.filter((r) => r.resources.includes('secrets') || r.resources.includes('configmaps'))).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['webhook-signing'], verbs: ['get'] },
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['llm-key'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['agent-settings'], verbs: ['get'] },
    ]);
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            topologySpreadConstraints?: unknown[];
            volumes?: unknown[];
            containers: { image: string; args: string[]; volumeMounts?: unknown[] }[];
          };
        };
      };
    };
    expect(deployment.spec.template.spec.topologySpreadConstraints).toHaveLength(1);
    expect(deployment.spec.template.spec.containers[0]?.image).toMatch(/@sha256:0123/);
    expect(deployment.spec.template.spec.containers[0]?.args).toEqual(
      expect.arrayContaining([
        '--watch-namespaces=team-a,team-b',
        '--log-format=text',
        '--task-workers=16',
        '--plugin=/app/plugins/team-score/index.mjs',
      ]),
    );
    // An out-of-tree plugin module, mounted from a ConfigMap (docs/plugins.md).
    expect(deployment.spec.template.spec.volumes).toEqual([{ name: 'team-score', configMap: { name: 'team-score-plugin' } }]);
    expect(deployment.spec.template.spec.containers[0]?.volumeMounts).toEqual([
      { name: 'team-score', mountPath: '/app/plugins/team-score', readOnly: true },
    ]);
    // The API server validates what Kubernetes itself serves (not the Prometheus Operator's kinds, absent here).
    const core = docs.filter(
      (d) =>
        !['ServiceMonitor', 'PrometheusRule', 'OrchestratorPolicy'].includes(d.kind) &&
        !['team-a', 'team-b'].includes(d.metadata.namespace ?? ''),
    );
    const e2e = inject('e2e');
    const out = execFileSync(e2e.kubectl, ['--kubeconfig', e2e.kubeconfig, 'apply', '--dry-run=server', '-f', '-'], {
      input: core
        .map((d) =>
          JSON.stringify({
            ...d,
            metadata: { ...d.metadata, namespace: d.metadata.namespace === 'ao-system' ? e2e.release.namespace : d.metadata.namespace },
          }),
        )
        .join('\n'),
      encoding: 'utf8',
    });
    expect(out.split('\n').filter((l) => l.includes('(server dry run)'))).toHaveLength(core.length);
  });

  /** Writes a rendered PrometheusRule's groups as rules.yaml next to a promtool test file; returns check's and test's output. */
  function promtoolOn(rule: Doc | undefined, testFile: string): { check: string; test: string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'ao-rules-'));
    try {
      writeFileSync(path.join(dir, 'rules.yaml'), JSON.stringify(rule?.spec));
      copyFileSync(path.join(repo, testFile), path.join(dir, 'rules.test.yaml'));
      return {
        check: promtool(['check', 'rules', path.join(dir, 'rules.yaml')]),
        test: promtool(['test', 'rules', path.join(dir, 'rules.test.yaml')]),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('renders alerts that promtool accepts, and that fire and resolve when e2e/prometheus/alerts.test.yaml says', () => {
    const [rule] = render(['--set', 'metrics.prometheusRule.enabled=true', '--show-only', 'templates/prometheusrule.yaml']);
    const { check, test } = promtoolOn(rule, 'e2e/prometheus/alerts.test.yaml');
    expect(check).toMatch(/SUCCESS: 6 rules found/);
    expect(test).toMatch(/SUCCESS/);
  });

  it('renders burn-rate alerts from the policies’ SLOs that promtool accepts, and that fire and resolve when e2e/prometheus/slo.test.yaml says', () => {
    const [rule] = render(['-f', sloValues, '--show-only', 'templates/prometheusrule.yaml']);
    const { check, test } = promtoolOn(rule, 'e2e/prometheus/slo.test.yaml');
    // The 6 alerts, 2 recording rules, and a fast and a slow alert for each of the 3 SLOs.
    expect(check).toMatch(/SUCCESS: 14 rules found/);
    expect(test).toMatch(/SUCCESS/);
  });

  it('queries, in its dashboard and its alerts, only metrics the operator exports', async () => {
    const exported = await exportedMetrics();
    const dashboard = JSON.parse(readFileSync(path.join(repo, 'docs/grafana-dashboard.json'), 'utf8')) as unknown;
    const [rule] = render(['-f', sloValues, '--show-only', 'templates/prometheusrule.yaml']);
    // Series the rule records itself are known too.
    const recorded =
      JSON.stringify(rule)
        .match(/"record":"[^"]+"/g)
        ?.map((r) => r.slice('"record":"'.length, -1)) ?? [];
    expect(recorded).toEqual(['agent_orchestrator:slo_burn_rate:fast', 'agent_orchestrator:slo_burn_rate:slow']);
    const known = new Set([...exported, ...recorded]);
    const queries = [...exprsOf(dashboard), ...exprsOf(rule)];
    expect(queries.length).toBeGreaterThan(30);
    const unknown = queries.flatMap((q) =>
      metricNames(q)
        .filter((n) => !known.has(n.replace(/_(bucket|count|sum)$/, '')) && !known.has(n))
        .map((n) => `${n} in ${q}`),
    );
    expect(unknown).toEqual([]);
  });

  it.each([
    [['--set', 'replicas=two'], "at '/replicas': got string, want integer"],
    [['--set', 'logging.formt=json'], "at '/logging': additional properties 'formt' not allowed"],
    [['--set', 'replicas=2', '--set', 'leaderElection.enabled=false'], "at '/leaderElection/enabled': value must be true"],
    [['--set', 'watchNamespaces[0]=Team_A'], "at '/watchNamespaces/0'"],
  ])('refuses bad values at helm install (%j) with the path of the value', (args, message) => {
    const e2e = inject('e2e');
    expect(() => helm(e2e, ['install', 'bad', chart, '--namespace', 'ao-bad', '--dry-run=server', ...args])).toThrow(message);
  });
});
