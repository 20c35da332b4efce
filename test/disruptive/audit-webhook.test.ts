import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../operator/src/api/kinds.ts';
import { AuditWebhook } from '../../operator/src/runtime/audit-webhook.ts';
import { systemClock } from '../../operator/src/runtime/clock.ts';
import { ApiError } from '../../operator/src/runtime/errors.ts';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath, resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import { chartOperatorIdentity } from '../support/chart-rbac.ts';
import { installCrds } from '../support/crds.ts';
import { repo } from '../support/hack-scripts.ts';
import { agentClient } from '../support/identities.ts';
import { useNamespace } from '../support/kube.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { testClient, testLogger } from '../support/runtime.ts';
import { waitFor } from '../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string };
type RefusalLog = { total: number; recent?: { verb: string; resource: string; name?: string; count: number }[] };
type AgentObj = KubeObject & { status?: { conditions?: Condition[]; refusals?: { reported?: RefusalLog; audited?: RefusalLog } } };

/** Restarts the shared plane's kube-apiserver with `flags` (none: its defaults). */
async function restartApiServer(flags: readonly string[]): Promise<void> {
  await promisify(execFile)(path.join(repo, 'hack/control-plane.sh'), ['restart', 'kube-apiserver', ...flags], { cwd: repo });
}

const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
# One event per request, when it is answered: the refusal is in its responseStatus.
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts"]
  - level: None
`;

// The API server sends its bearer token only over TLS.
const webhookKubeconfig = (address: string, token: string, ca: string): string => `apiVersion: v1
kind: Config
clusters:
  - name: agent-orchestrator
    cluster: {server: "https://${address}/audit", certificate-authority-data: "${Buffer.from(ca).toString('base64')}"}
users:
  - name: kube-apiserver
    user: {token: "${token}"}
contexts:
  - name: audit
    context: {cluster: agent-orchestrator, user: kube-apiserver}
current-context: audit
`;

describe('threat detection from the API server’s audit log (the webhook backend, pointed at the operator on loopback)', () => {
  beforeAll(installCrds);
  const ns = useNamespace('audit-');
  let operator: RunningOperator | undefined;
  let webhook: AuditWebhook;
  let operatorClient: RestClient;
  const stop = new AbortController();
  let serving: Promise<void> | undefined;
  let flagsSet = false;
  let ca = '';

  beforeAll(async () => {
    const { kubeConfig } = await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, 'operator');
    operatorClient = new RestClient(kubeConfig);
    const token = randomBytes(16).toString('hex');
    const dir = await mkdtemp(path.join(tmpdir(), 'audit-'));
    // A serving certificate for 127.0.0.1, its own CA, as a Secret would hold in a cluster.
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      path.join(dir, 'tls.key'),
      '-out',
      path.join(dir, 'tls.crt'),
    ]);
    ca = await readFile(path.join(dir, 'tls.crt'), 'utf8');
    webhook = new AuditWebhook({
      bind: '127.0.0.1:0',
      token,
      tls: { cert: ca, key: await readFile(path.join(dir, 'tls.key'), 'utf8') },
      client: operatorClient,
      namespaces: [ns.name],
      flushMs: 500,
      clock: systemClock,
      logger: testLogger(),
    });
    serving = webhook.run(stop.signal);
    const address = await waitFor('the audit webhook to listen', () => webhook.address);
    await writeFile(path.join(dir, 'policy.yaml'), AUDIT_POLICY);
    await writeFile(path.join(dir, 'webhook.kubeconfig'), webhookKubeconfig(address, token, ca), { mode: 0o600 });
    flagsSet = true;
    await restartApiServer([
      `--audit-policy-file=${path.join(dir, 'policy.yaml')}`,
      `--audit-webhook-config-file=${path.join(dir, 'webhook.kubeconfig')}`,
      '--audit-webhook-mode=batch',
      '--audit-webhook-batch-max-wait=1s',
    ]);
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: { plugins: { 'threat-detection': { threshold: 5, windowSeconds: 120 } } },
      },
    });
    operator = await startOperator(ns.name, {}, [], kubeConfig);
    for (const name of ['mallory', 'bob']) {
      await client.request('POST', collectionPath(Agents, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: { capabilities: [name], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
        },
      });
    }
  }, 180_000);
  afterAll(async () => {
    await operator?.stop();
    stop.abort();
    await serving;
    await operatorClient.close();
    // The shared plane goes back to its default flags.
    if (flagsSet) await restartApiServer([]);
  }, 180_000);

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));

  it('files the API server’s own record of an agent identity’s refusals on its Agent and quarantines it, with no runner reporting anything', async () => {
    await client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: 'bobs-task' }, spec: { requiredCapabilities: ['bob'] } },
    });
    // A plain client (no runner, nothing reported): only the audit log sees what it tries.
    const mallory = await waitFor('mallory’s Pod, whose token is her identity', () =>
      agentClient(client, inject('kubeconfig'), ns.name, 'mallory'),
    );
    try {
      for (let i = 0; i < 4; i++) {
        const err = await mallory.request('GET', objectPath(Tasks, ns.name, 'bobs-task')).catch((e: unknown) => e);
        expect(err instanceof ApiError && err.status).toBe(403);
      }
      for (let i = 0; i < 2; i++) {
        const err = await mallory
          .request('PUT', objectPath(Leases, ns.name, 'agent-bob'), {
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: 'agent-bob' },
              spec: { holderIdentity: 'mallory' },
            },
          })
          .catch((e: unknown) => e);
        expect(err instanceof ApiError && err.status).toBe(403);
      }
    } finally {
      await mallory.close();
    }

    const audited = await waitFor(
      'the audited refusals on mallory',
      async () => {
        const log = (await agent('mallory')).status?.refusals?.audited;
        return (log?.total ?? 0) >= 6 ? log : undefined;
      },
      { timeoutMs: 60_000, describe: async () => JSON.stringify((await agent('mallory')).status?.refusals) },
    );
    const tried = (verb: string, name: string): number =>
      (audited.recent ?? []).filter((e) => e.verb === verb && e.name === name).reduce((n, e) => n + e.count, 0);
    expect(tried('get', 'bobs-task')).toBe(4);
    expect(tried('update', 'agent-bob')).toBe(2);
    expect((await agent('mallory')).status?.refusals?.reported).toBeUndefined();

    const condition = await waitFor('mallory quarantined', async () => {
      const c = (await agent('mallory')).status?.conditions?.find((x) => x.type === 'Quarantined');
      return c?.status === 'True' ? c : undefined;
    });
    expect(condition.reason).toBe('RepeatedRefusals');
    expect(condition.message).toMatch(/^agent-mallory tried get tasks bobs-task in audit-\S+ \(403\) 4 times in 120s/);
    expect((await agent('bob')).status?.conditions?.find((x) => x.type === 'Quarantined')).toBeUndefined();
  });

  it('refuses a POST without the token the API server was given', async () => {
    const [host, port] = (webhook.address ?? '').split(':');
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpsRequest({ host, port, path: '/audit', method: 'POST', ca }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ kind: 'EventList', items: [] }));
    });
    expect(status).toBe(401);
  });
});
