import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { agent as agentSchema } from '../../../operator/src/api/agent.ts';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind } from '../../../operator/src/api/kinds.ts';
import { ApiError } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { SECURITY_CASES, TABLE_SETTINGS, type SecurityCase } from '../../../plugins/security/cases.ts';
import { securitySettings } from '../../../plugins/security/config.ts';
import { securityJudge, type Violation } from '../../../plugins/security/judge.ts';
import { installCrds } from '../../support/crds.ts';
import { kubectl } from '../../support/kubectl.ts';
import { dockerFromHost } from '../../support/docker.ts';
import { must, repo } from '../../support/hack-scripts.ts';
import { serviceAccountClient } from '../../support/identities.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

// One table (plugins/security/cases.ts), one values file, two enforcers: the
// ValidatingAdmissionPolicy `helm template` renders from the values, on the real API
// server, and the operator started with the --plugin-settings the same render gives its
// Deployment. Each must reach the table's verdict, so they agree with each other, and
// name the same first field with the judge's message.
const client = testClient();
const docker = dockerFromHost(inject('dockerHost'));
const Agents = resourceOfKind(agentKind);
const judge = securityJudge(securitySettings.parse(TABLE_SETTINGS));
const RELEASE = `sec-${randomBytes(3).toString('hex')}`;
const VAP = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDINGS = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';
// The table allows this RuntimeClass; a Pod naming one that does not exist is refused.
const RUNTIME_CLASS = 'kata-fc';

type Verdict = 'admitted' | 'refused';
type Condition = { type: string; status: string; reason: string; message: string; observedGeneration?: number };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[]; workload?: { name?: string } } };
type EventObj = KubeObject & { type: string; reason: string; note?: string; regarding?: { name?: string } };
type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };

const expected = (c: SecurityCase): Verdict => (c.fields.length === 0 ? 'admitted' : 'refused');
const agentBody = (name: string, runtime: Record<string, unknown>): Record<string, unknown> => ({
  apiVersion: API_VERSION,
  kind: 'Agent',
  metadata: { name },
  spec: { runtime },
});
/** The judge's violations of a row, as the API server will hold the Agent (defaults filled in). */
const violationsOf = (c: SecurityCase): Violation[] => judge(agentSchema.parse({ spec: { runtime: c.runtime(inject('dockerHost')) } }));

/** The chart rendered with the table's values: the policy, its binding and the operator's flag. */
function renderChart(
  watched: string,
  security: object = TABLE_SETTINGS,
  release = RELEASE,
): { policy: Doc; binding: Doc; pluginSettings: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'security-values-'));
  try {
    const values = path.join(dir, 'values.yaml');
    writeFileSync(values, stringify({ security, watchNamespaces: [watched] }));
    const out = execFileSync(
      must('control-plane.sh', ['helm']),
      ['template', release, path.join(repo, 'charts/agent-orchestrator'), '-f', values],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const docs = parseAllDocuments(out)
      .map((d) => d.toJS() as Doc | null)
      .filter((d): d is Doc => d !== null);
    const named = (kind: string): Doc => {
      const d = docs.find((x) => x.kind === kind && x.metadata.name.endsWith('-security'));
      if (!d) throw new Error(`the chart rendered no ${kind} for the security policy`);
      return d;
    };
    const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const flag = deployment.spec.template.spec.containers[0]?.args.find((a) => a.startsWith('--plugin-settings='));
    if (!flag) throw new Error('the chart passes the operator no --plugin-settings');
    return { policy: named('ValidatingAdmissionPolicy'), binding: named('ValidatingAdmissionPolicyBinding'), pluginSettings: flag };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the security policy, enforced twice from one set of chart values', () => {
  beforeAll(installCrds);
  const admission = useNamespace('security-vap-');
  const operated = useNamespace('security-op-');
  const verdicts = new Map<string, { vap?: Verdict; operator?: Verdict }>();
  let chart: ReturnType<typeof renderChart>;
  let madeRuntimeClass = false;

  beforeAll(async () => {
    chart = renderChart(admission.name);
    // Cluster-wide, but bound to the admission namespace only: other tests' Agents and
    // the operator's half of this one are out of its reach.
    await client.request('POST', VAP, { body: { apiVersion: 'admissionregistration.k8s.io/v1', ...chart.policy } });
    await client.request('POST', BINDINGS, { body: { apiVersion: 'admissionregistration.k8s.io/v1', ...chart.binding } });
    await client
      .request('POST', '/apis/node.k8s.io/v1/runtimeclasses', {
        body: { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: RUNTIME_CLASS }, handler: 'runc' },
      })
      .then(() => (madeRuntimeClass = true))
      .catch((err: unknown) => {
        if (!(err instanceof ApiError && err.reason === 'AlreadyExists')) throw err;
      });
  });
  afterAll(async () => {
    const rows = SECURITY_CASES.map((c) => ({ row: c.name, table: expected(c), ...verdicts.get(c.name) }));
    console.log(
      `security policy verdicts (table, ValidatingAdmissionPolicy, operator):\n${rows.map((r) => `  ${r.row}: ${r.table} ${r.vap} ${r.operator}`).join('\n')}`,
    );
    const made = [`${BINDINGS}/${chart.binding.metadata.name}`, `${VAP}/${chart.policy.metadata.name}`];
    if (madeRuntimeClass) made.push(`/apis/node.k8s.io/v1/runtimeclasses/${RUNTIME_CLASS}`);
    for (const url of made) {
      await client.request('DELETE', url).catch(() => undefined);
    }
  });

  it('the API server type-checks the rendered policy without a warning', async () => {
    const status = await waitFor('the policy to be type-checked', async () => {
      const p = await client.request<
        KubeObject & { status?: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } } }
      >('GET', `${VAP}/${chart.policy.metadata.name}`);
      return p.status?.observedGeneration === p.metadata.generation && p.status?.typeChecking ? p.status : undefined;
    });
    expect(status.typeChecking?.expressionWarnings ?? []).toEqual([]);
  });

  it('the ValidatingAdmissionPolicy admits and refuses each row as the table says, naming the judge’s first field', async () => {
    // A user the policy applies to, with the right to create Agents in the namespace.
    const ns = admission.name;
    await client.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'author' } },
    });
    await client.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'author' },
        rules: [{ apiGroups: ['agents.orchestrator.dev'], resources: ['agents'], verbs: ['create', 'get', 'delete', 'update'] }],
      },
    });
    await client.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'author' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'author' },
        subjects: [{ kind: 'ServiceAccount', name: 'author', namespace: ns }],
      },
    });
    const author = await serviceAccountClient(client, inject('kubeconfig'), ns, 'author');
    const create = async (name: string, runtime: Record<string, unknown>): Promise<{ verdict: Verdict; message: string }> => {
      try {
        await author.request('POST', collectionPath(Agents, ns), { body: agentBody(name, runtime) });
        return { verdict: 'admitted', message: '' };
      } catch (err) {
        if (err instanceof ApiError && err.status === 403 && err.message.includes('ValidatingAdmissionPolicy'))
          return { verdict: 'refused', message: err.message };
        throw err;
      }
    };
    try {
      // The API server learns of a new policy from its own informer: wait until it refuses.
      let probes = 0;
      await waitFor('the policy to take effect', async () => {
        const name = `probe-${probes++}`;
        const r = await create(name, { type: 'kubernetes', image: 'registry.evil.example/x' });
        return r.verdict === 'refused' ? true : undefined;
      });

      for (const c of SECURITY_CASES) {
        const r = await create(c.name, c.runtime(inject('dockerHost')));
        verdicts.set(c.name, { ...verdicts.get(c.name), vap: r.verdict });
        expect(r.verdict, `${c.name}: ${r.message}`).toBe(expected(c));
        const [first, ...more] = violationsOf(c);
        if (first) expect(r.message, c.name).toContain(first.message);
        // The API server reports the first validation that failed: the judge's first violation.
        for (const v of more) expect(r.message, c.name).not.toContain(v.message);
      }

      // Only a new spec is judged: an Agent that predates a stricter policy can still be
      // annotated (and have its finalizer removed), but not changed into a violation.
      const admitted = await client.request<KubeObject & { spec: Record<string, unknown> }>(
        'GET',
        objectPath(Agents, ns, 'allowed-registry'),
      );
      await author.request('PUT', objectPath(Agents, ns, 'allowed-registry'), {
        body: { ...admitted, metadata: { ...admitted.metadata, annotations: { note: 'metadata only' } } },
      });
      const again = await client.request<KubeObject & { spec: { runtime: Record<string, unknown> } }>(
        'GET',
        objectPath(Agents, ns, 'allowed-registry'),
      );
      const update = author.request('PUT', objectPath(Agents, ns, 'allowed-registry'), {
        body: { ...again, spec: { ...again.spec, runtime: { ...again.spec.runtime, image: 'registry.evil.example/x' } } },
      });
      await expect(update).rejects.toThrow(/spec\.runtime\.image: registry\.evil\.example\/x is not in the allowlist/);
    } finally {
      await author.close();
    }
  });

  describe('the operator, with the same values and no admission policy over its namespace', () => {
    let operator: OperatorProcess | undefined;
    beforeAll(async () => {
      operator = new OperatorProcess(
        {
          AO_WATCH_NAMESPACES: operated.name,
          AO_LEADER_ELECT: 'false',
          AO_DOCKER_HOST: inject('dockerHost'),
          AO_DOCKER_PULL_POLICY: 'Never',
        },
        [chart.pluginSettings],
      );
      await operator.waitForLog('the security review', (l) => l.msg === 'reviewing agents' && l.plugin === 'security', 60_000);
    });
    afterAll(async () => {
      // Agents carry the operator's finalizer: delete them while it runs.
      await client.request('DELETE', collectionPath(Agents, operated.name)).catch(() => undefined);
      await waitFor('the Agents to be gone', async () =>
        (await client.request<ObjectList>('GET', collectionPath(Agents, operated.name))).items.length === 0 ? true : undefined,
      ).catch(() => undefined);
      await operator?.stop();
      const leftovers = await docker.listContainers({
        all: true,
        filters: { label: [`agents.orchestrator.dev/namespace=${operated.name}`] },
      });
      await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    });

    const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, operated.name, name));
    const cond = (a: AgentObj, type: string): Condition | undefined => a.status?.conditions?.find((c) => c.type === type);
    const verdictOf = async (name: string): Promise<Verdict | undefined> => {
      const a = await get(name);
      const compliant = cond(a, 'PolicyCompliant');
      // A verdict on the spec as it is now, not on the one before a change.
      if (compliant?.observedGeneration !== a.metadata.generation) return undefined;
      if (compliant?.status === 'False' && cond(a, 'Ready')?.reason === 'SecurityPolicy' && a.status?.phase === 'Failed') return 'refused';
      if (compliant?.status === 'True' && a.status?.workload?.name) return 'admitted';
      return undefined;
    };
    const events = async (name: string): Promise<EventObj[]> =>
      (await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${operated.name}/events`)).items.filter(
        (e) => e.regarding?.name === name,
      );
    const workloads = async (name: string): Promise<number> => {
      const pods = await client
        .request('GET', `/api/v1/namespaces/${operated.name}/pods/agent-${name}`)
        .then(() => 1)
        .catch(() => 0);
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`agents.orchestrator.dev/namespace=${operated.name}`, `agents.orchestrator.dev/name=${name}`] },
      });
      return pods + containers.length;
    };

    it('starts the workload of each admitted row and refuses the others, with the condition, an Event and no Pod or container', async () => {
      for (const c of SECURITY_CASES)
        await client.request('POST', collectionPath(Agents, operated.name), { body: agentBody(c.name, c.runtime(inject('dockerHost'))) });
      for (const c of SECURITY_CASES) {
        const verdict = await waitFor(`a verdict on ${c.name}`, () => verdictOf(c.name), {
          describe: async () => JSON.stringify((await get(c.name)).status, null, 1),
        });
        verdicts.set(c.name, { ...verdicts.get(c.name), operator: verdict });
        expect(verdict, c.name).toBe(expected(c));
        expect(verdicts.get(c.name)?.operator, c.name).toBe(verdicts.get(c.name)?.vap);
        if (verdict === 'admitted') continue;
        const a = await get(c.name);
        const messages = violationsOf(c).map((v) => `${v.message} (plugin security)`);
        expect(cond(a, 'PolicyCompliant')?.message).toBe(messages.join('; '));
        expect(cond(a, 'Ready')?.message).toBe(`the workload is not started: ${messages.join('; ')}`);
        expect(await workloads(c.name), c.name).toBe(0);
        const warnings = await waitFor(`the Warning Event of ${c.name}`, async () => {
          const w = (await events(c.name)).filter((e) => e.type === 'Warning' && e.reason === 'SecurityPolicy');
          return w.length > 0 ? w : undefined;
        });
        expect(warnings).toHaveLength(1);
        expect(warnings[0]?.note).toContain(messages[0]);
      }
    });

    it('never dials a Docker engine the policy forbids', () => {
      // docker-other-engine names tcp://127.0.0.1:2375: a refused Agent's runtime is not contacted.
      expect(operator?.logs.filter((l) => JSON.stringify(l).includes('127.0.0.1:2375'))).toEqual([]);
      expect(operator?.logs.some((l) => l.msg === 'reviewing agents')).toBe(true);
    });

    it('says so once per change of the violations, and starts the Agent once it complies', async () => {
      const name = 'several-at-once';
      const fix = async (runtime: Record<string, unknown>): Promise<void> => {
        const a = await client.request<KubeObject & { spec: { runtime: Record<string, unknown> } }>(
          'GET',
          objectPath(Agents, operated.name, name),
        );
        await client.request('PUT', objectPath(Agents, operated.name, name), {
          body: { ...a, spec: { ...a.spec, runtime: { ...a.spec.runtime, ...runtime } } },
        });
      };
      await fix({ image: '127.0.0.1:5000/runner:1' });
      const second = await waitFor('a second Warning, naming what is left', async () => {
        const w = (await events(name)).filter((e) => e.type === 'Warning' && e.reason === 'SecurityPolicy');
        return w.length === 2 ? w : undefined;
      });
      expect(second.map((e) => e.note).find((n) => !n?.includes('spec.runtime.image'))).toContain('spec.runtime.resources.limits.memory');
      expect(await workloads(name)).toBe(0);

      await fix({
        resources: { limits: { cpu: '1', memory: '1Gi' } },
        env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'llm-key', key: 'k' } } }],
      });
      await waitFor('the fixed Agent to start', async () => ((await verdictOf(name)) === 'admitted' ? true : undefined));
      expect(await workloads(name)).toBe(1);
      await waitFor('a PolicyCompliant Event', async () =>
        (await events(name)).some((e) => e.type === 'Normal' && e.reason === 'PolicyCompliant') ? true : undefined,
      );
      expect((await events(name)).filter((e) => e.type === 'Warning' && e.reason === 'SecurityPolicy')).toHaveLength(2);
    });
  });
});

// The roll-out step: [Warn, Audit]. Nothing is refused; kubectl warns, and the operator
// starts the workload while it reports the violations.
describe('the security policy in Warn mode', () => {
  beforeAll(installCrds);
  const ns = useNamespace('security-warn-');
  const release = `${RELEASE}-warn`;
  let chart: ReturnType<typeof renderChart>;
  let operator: OperatorProcess | undefined;
  let dir = '';
  beforeAll(async () => {
    chart = renderChart(ns.name, { ...TABLE_SETTINGS, validationActions: ['Warn', 'Audit'] }, release);
    await client.request('POST', VAP, { body: { apiVersion: 'admissionregistration.k8s.io/v1', ...chart.policy } });
    await client.request('POST', BINDINGS, { body: { apiVersion: 'admissionregistration.k8s.io/v1', ...chart.binding } });
    dir = mkdtempSync(path.join(tmpdir(), 'security-warn-'));
  });
  afterAll(async () => {
    await client.request('DELETE', collectionPath(Agents, ns.name)).catch(() => undefined);
    await waitFor('the Agents to be gone', async () =>
      (await client.request<ObjectList>('GET', collectionPath(Agents, ns.name))).items.length === 0 ? true : undefined,
    ).catch(() => undefined);
    await operator?.stop();
    for (const url of [`${BINDINGS}/${chart.binding.metadata.name}`, `${VAP}/${chart.policy.metadata.name}`]) {
      await client.request('DELETE', url).catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** kubectl create of an Agent, as a user would: what it printed on stderr (the warnings). */
  const kubectlCreate = async (name: string, runtime: Record<string, unknown>): Promise<string> => {
    const file = path.join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(agentBody(name, runtime)));
    const r = await kubectl('create', '-n', ns.name, '-f', file);
    if (r.code !== 0) throw new Error(`kubectl create ${name}: ${r.stderr}`);
    return r.stderr;
  };

  it('lets a violating Agent in with a warning, and the operator starts it while it reports the violation', async () => {
    const runtime = { type: 'kubernetes', image: 'registry.evil.example/x:1', resources: { limits: { cpu: '1', memory: '1Gi' } } };
    const [violation] = judge(agentSchema.parse({ spec: { runtime } }));
    let probes = 0;
    await waitFor('the policy to warn', async () =>
      (await kubectlCreate(`probe-${probes++}`, runtime)).includes('Warning:') ? true : undefined,
    );
    const warning = await kubectlCreate('warned', runtime);
    expect(warning).toMatch(/^Warning: Validation failed for ValidatingAdmissionPolicy/m);
    expect(warning).toContain(violation?.message);

    operator = new OperatorProcess({ AO_WATCH_NAMESPACES: ns.name, AO_LEADER_ELECT: 'false' }, [chart.pluginSettings]);
    const a = await waitFor('the warned Agent to run with PolicyCompliant=False', async () => {
      const got = await client.request<AgentObj>('GET', objectPath(Agents, ns.name, 'warned'));
      const compliant = got.status?.conditions?.find((c) => c.type === 'PolicyCompliant');
      return compliant?.status === 'False' && got.status?.workload?.name ? got : undefined;
    });
    expect(a.status?.phase).not.toBe('Failed');
    expect(a.status?.conditions?.find((c) => c.type === 'Ready')?.reason).not.toBe('SecurityPolicy');
    expect(a.status?.conditions?.find((c) => c.type === 'PolicyCompliant')?.message).toBe(`${violation?.message} (plugin security)`);
    await client.request('GET', `/api/v1/namespaces/${ns.name}/pods/agent-warned`);
    const warnings = await waitFor('the Warning Event', async () => {
      const list = await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
      const w = list.items.filter((e) => e.regarding?.name === 'warned' && e.type === 'Warning' && e.reason === 'SecurityPolicy');
      return w.length > 0 ? w : undefined;
    });
    expect(warnings).toHaveLength(1);
  });
});
