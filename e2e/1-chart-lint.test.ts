// Third-party manifest linters on the rendered chart, with default values and with every
// feature on (e2e/values-all.yaml), CRDs included: kubeconform in strict mode against
// Kubernetes' own schemas (the PyPI package kubernetes-validate) and the CRDs' (hack/kube-schemas.ts),
// and kube-score. Every check they may not enforce is in hack/chart-lint.yaml, with its reason.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { kubeconformSchemaFlags } from '../hack/kube-schemas.ts';
import { repo } from '../test/support/hack-scripts.ts';
import { helm } from './support/cluster.ts';

const chart = path.join(repo, 'charts/agent-orchestrator');
const renders = { default: [], all: ['-f', path.join(repo, 'e2e/values-all.yaml')] } satisfies Record<string, string[]>;
type Render = keyof typeof renders;

interface Excuse {
  reason: string;
  renders?: Render[];
}
interface LintConfig {
  kubeScore: { enableOptionalTests: string[]; flags: (Excuse & { flag: string })[]; ignoreTests: (Excuse & { test: string })[] };
  kubeconform: { skipKinds: (Excuse & { kind: string })[] };
}
const config = parse(readFileSync(path.join(repo, 'hack/chart-lint.yaml'), 'utf8')) as LintConfig;
const appliesTo = (e: Excuse, r: Render): boolean => !e.renders || e.renders.includes(r);

/** kube-score's --kubernetes-version (vMAJOR.MINOR) from hack/lib.sh's K8S_VERSION. */
const k8sMinor = /^K8S_VERSION="(v\d+\.\d+)\./m.exec(readFileSync(path.join(repo, 'hack/lib.sh'), 'utf8'))?.[1] ?? '';

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};

/** Runs a linter; its exit code and everything it printed. */
function lint(bin: string, args: string[]): { code: number | null; output: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the rendered chart passes the manifest linters', () => {
  let dir = '';
  let kubeScore = '';
  let kubeconform = '';
  let schemaFlags: string[] = [];
  const file = (r: Render): string => path.join(dir, `${r}.yaml`);
  const docs = (r: Render): Doc[] =>
    parseAllDocuments(readFileSync(file(r), 'utf8'))
      .map((d) => d.toJS() as Doc | null)
      .filter((d): d is Doc => d !== null);

  beforeAll(() => {
    // Built from the Go module proxy by hack/build-tools.sh (a no-op once built).
    const bins = spawnSync(path.join(repo, 'hack/build-tools.sh'), ['kube-score', 'kubeconform'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [scoreDir, conformDir] = bins.stdout.trim().split('\n');
    if (bins.status !== 0 || !scoreDir || !conformDir)
      throw new Error('hack/build-tools.sh kube-score kubeconform failed; see the log lines above');
    kubeScore = path.join(scoreDir, 'kube-score');
    kubeconform = path.join(conformDir, 'kubeconform');
    dir = mkdtempSync(path.join(tmpdir(), 'ao-chart-lint-'));
    schemaFlags = kubeconformSchemaFlags(path.join(dir, 'schemas'));
    for (const [r, args] of Object.entries(renders)) {
      writeFileSync(
        file(r as Render),
        helm(inject('e2e'), ['template', 'ao', chart, '--namespace', 'ao-system', '--include-crds', ...args]),
      );
    }
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('excuses each check it turns off with a reason, and names only checks kube-score has', () => {
    const excuses: Excuse[] = [...config.kubeScore.flags, ...config.kubeScore.ignoreTests, ...config.kubeconform.skipKinds];
    for (const e of excuses) {
      expect(e.reason.length, JSON.stringify(e)).toBeGreaterThan(80);
      for (const r of e.renders ?? []) expect(Object.keys(renders)).toContain(r);
    }
    const known = lint(kubeScore, ['list'])
      .output.split('\n')
      .map((l) => l.split(',')[0]);
    for (const t of [...config.kubeScore.ignoreTests.map((i) => i.test), ...config.kubeScore.enableOptionalTests])
      expect(known).toContain(t);
  });

  it.each(Object.keys(renders) as Render[])('kubeconform -strict finds every object of the %s render valid', (r) => {
    const skip = config.kubeconform.skipKinds.filter((s) => appliesTo(s, r)).map((s) => s.kind);
    const { code, output } = lint(kubeconform, [
      '-strict',
      '-summary',
      '-output',
      'text',
      ...schemaFlags,
      ...(skip.length ? ['-skip', skip.join(',')] : []),
      file(r),
    ]);
    expect(code, `kubeconform on the ${r} render:\n${output}`).toBe(0);
    // Without -ignore-missing-schemas, a kind without a schema is an error: only the excused are skipped.
    const all = docs(r);
    const skipped = all.filter((d) => skip.includes(d.kind)).length;
    expect(output).toContain(
      `${all.length} resources found in 1 file - Valid: ${all.length - skipped}, Invalid: 0, Errors: 0, Skipped: ${skipped}`,
    );
  });

  it.each(Object.keys(renders) as Render[])('kube-score finds nothing to report, warnings included, in the %s render', (r) => {
    const args = [
      'score',
      '--kubernetes-version',
      k8sMinor,
      '--output-format',
      'ci',
      '--exit-one-on-warning',
      '--color',
      'never',
      ...config.kubeScore.enableOptionalTests.flatMap((t) => ['--enable-optional-test', t]),
      ...config.kubeScore.flags.filter((f) => appliesTo(f, r)).map((f) => f.flag),
      ...config.kubeScore.ignoreTests.filter((i) => appliesTo(i, r)).flatMap((i) => ['--ignore-test', i.test]),
      file(r),
    ];
    const { code, output } = lint(kubeScore, args);
    const findings = output.split('\n').filter((l) => l && !l.startsWith('[OK]') && !l.startsWith('[SKIPPED]'));
    expect({ code, findings }, `kube-score ${args.join(' ')}`).toEqual({ code: 0, findings: [] });
    // It did score the workload (a render it could not read would be "nothing to report" too).
    expect(output).toMatch(/^\[OK\] ao-agent-orchestrator\/ao-system apps\/v1\/Deployment/m);
  });

  it('kubeconform reads the schemas it is given: an unknown field is refused in a Deployment and in an OrchestratorPolicy', () => {
    const all = docs('all');
    const deployment = all.find((d) => d.kind === 'Deployment');
    const policy = all.find((d) => d.kind === 'OrchestratorPolicy');
    const bad = [
      { ...deployment, spec: { ...deployment?.spec, replica: 2 } },
      { ...policy, spec: { ...policy?.spec, routing: { strategy: 'LeastLoaded', strategyy: 'x' } } },
    ];
    const badFile = path.join(dir, 'bad.json');
    writeFileSync(badFile, bad.map((d) => JSON.stringify(d)).join('\n---\n'));
    const { code, output } = lint(kubeconform, ['-strict', '-summary', '-output', 'text', ...schemaFlags, badFile]);
    expect(code).toBe(1);
    expect(output).toMatch(/Deployment ao-agent-orchestrator is invalid: .* at '\/spec': additional properties 'replica' not allowed/);
    expect(output).toMatch(/OrchestratorPolicy default is invalid: .* at '\/spec\/routing': additional properties 'strategyy' not allowed/);
    expect(output).toContain('Valid: 0, Invalid: 2, Errors: 0');
  });

  it('the ServiceMonitor, which kubeconform skips, selects the metrics Service in its namespace by a port the Service has', () => {
    const all = docs('all');
    const monitor = all.find((d) => d.kind === 'ServiceMonitor') as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: { matchNames: string[] };
        endpoints: { port: string }[];
      };
    };
    const services = all.filter((d) => d.kind === 'Service');
    const selected = services.filter((s) =>
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v),
    );
    expect(selected.map((s) => s.metadata.name)).toEqual(['ao-agent-orchestrator-metrics']);
    expect(monitor.spec.namespaceSelector.matchNames).toEqual([selected[0]?.metadata.namespace]);
    const ports = (selected[0]?.spec?.ports as { name: string }[]).map((p) => p.name);
    for (const e of monitor.spec.endpoints) expect(ports).toContain(e.port);
  });

  it('renders a PodDisruptionBudget that lets a replica that is not Ready be evicted, and a NetworkPolicy open only on the served ports', () => {
    const all = docs('all');
    expect(all.find((d) => d.kind === 'PodDisruptionBudget')?.spec).toMatchObject({
      minAvailable: 1,
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
    expect(all.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'ao-agent-orchestrator')?.spec).toMatchObject({
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ ports: [{ port: 'metrics', protocol: 'TCP' }] }, { ports: [{ port: 'health', protocol: 'TCP' }] }],
      egress: [{}],
    });
  });

  it('confines agent Pods to the API server, the model endpoints and DNS, in each agents’ namespace (agents.networkPolicy)', () => {
    const agents = docs('all').filter((d) => d.kind === 'NetworkPolicy' && d.metadata.name === 'ao-agent-orchestrator-agents');
    expect(agents.map((d) => d.metadata.namespace)).toEqual(['team-a', 'team-b']);
    expect(agents[0]?.spec).toEqual({
      podSelector: {
        matchLabels: { 'app.kubernetes.io/managed-by': 'agent-orchestrator' },
        matchExpressions: [{ key: 'agents.orchestrator.dev/agent', operator: 'Exists' }],
      },
      policyTypes: ['Egress'],
      egress: [
        { to: [{ ipBlock: { cidr: '127.0.0.1/32' } }], ports: [{ port: 6443, protocol: 'TCP' }] },
        { to: [{ ipBlock: { cidr: '127.0.0.1/32' } }], ports: [{ port: 8000, protocol: 'TCP' }] },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        },
      ],
    });
  });
});
