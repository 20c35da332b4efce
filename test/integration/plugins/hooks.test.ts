import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

// The hooks plugin on the real plane: the operator's controllers in this process, the
// simulated runners of test/support/fleet.ts, and a webhook receiver on the loopback
// interface that checks every signature and answers the pre-assignment gate.

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);
const KEY = 'hooks integration signing key';

interface CloudEventBody {
  specversion: string;
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: string;
  data: Record<string, unknown> & { name?: string; generation?: number; spec?: Record<string, unknown> };
}
interface Delivery {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  event: CloudEventBody;
}
type Condition = { type: string; status: string; reason: string; message: string };
type TaskObj = KubeObject & { spec: { input?: string }; status?: { phase?: string; conditions?: Condition[] } };
type PolicyObj = KubeObject & {
  status?: { conditions?: Condition[]; plugins?: { name: string; message: string; lastFailure?: string; lastFailureTime?: string }[] };
};

/** A webhook receiver: records what it gets; the gate answers per task name (allow by default). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  readonly answers = new Map<string, unknown>();
  /** Tasks whose gate answer waits until their Pending event came (at most 30 s). */
  readonly answerOncePending = new Set<string>();
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const event = JSON.parse(raw) as CloudEventBody;
        this.deliveries.push({ path: req.url ?? '', headers: req.headers, raw, event });
        if (req.url === '/broken') res.writeHead(503).end('down');
        else if (req.url === '/gate') {
          const name = event.data.name ?? '';
          const answer = (): void => {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.answers.get(name) ?? { allow: true }));
          };
          if (this.answerOncePending.has(name))
            void waitFor(
              'its Pending event',
              () => (this.about(name, '/events').some((d) => d.event.type.endsWith('.pending')) ? true : undefined),
              {
                timeoutMs: 30_000,
              },
            ).finally(answer);
          else answer();
        } else res.writeHead(204).end();
      });
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }

  /** Events about one task that reached an endpoint, in the order they came. */
  about(task: string, path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path && d.event.subject === task);
  }
}

const signatureOf = (raw: string): string => `sha256=${createHmac('sha256', KEY).update(raw).digest('hex')}`;

describe('hooks: webhooks and a pre-assignment gate', () => {
  beforeAll(installCrds);
  const ns = useNamespace('hooks-');
  const receiver = new Receiver();
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  const env = { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' };

  const hooksConfig = (): Record<string, unknown> => ({
    endpoints: [
      { name: 'audit', url: `${receiver.url}/events`, events: ['task.*'], signingSecret: { name: 'hook-key', key: 'token' } },
      { name: 'gate', url: `${receiver.url}/gate`, events: [], failurePolicy: 'Fail' },
      { name: 'broken', url: `${receiver.url}/broken`, events: ['agent.Ready'], retries: 1, backoffSeconds: 0 },
    ],
    preAssignment: { endpoint: 'gate' },
  });

  beforeAll(async () => {
    await receiver.start();
    await client.request('POST', `/api/v1/namespaces/${ns.name}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'hook-key' }, stringData: { token: KEY } },
    });
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: { plugins: { hooks: hooksConfig() } },
      },
    });
    operator = await startOperator(ns.name, env);
    fleet = new Fleet(client, ns.name);
    await fleet.agent('worker');
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
    await receiver.stop();
  });

  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const phaseIs = (name: string, phase: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === phase ? t : undefined;
  };
  const policy = (): Promise<PolicyObj> => client.request('GET', objectPath(Policies, ns.name, 'default'));

  it('asks the gate, then delivers signed CloudEvents for the task’s whole life, in order', async () => {
    // The router writes Pending (why it waits: the gate) while the gate thinks; an answer
    // faster than that write would take the task from no phase to Assigned (README).
    receiver.answerOncePending.add('whole-life');
    const created = await fleet.task('whole-life', { input: 'say hello' });
    const uid = created.metadata.uid ?? '';
    await waitFor('whole-life to succeed', phaseIs('whole-life', 'Succeeded'), { timeoutMs: 90_000 });
    const events = await waitFor('the Succeeded event', () => {
      const got = receiver.about('whole-life', '/events');
      return got.some((d) => d.event.type.endsWith('.succeeded')) ? got : undefined;
    });
    expect(events.map((d) => d.event.type)).toEqual(
      ['pending', 'assigned', 'running', 'succeeded'].map((p) => `dev.orchestrator.task.${p}`),
    );
    expect(events.map((d) => d.event.id)).toEqual([`${uid}.pending.0`, `${uid}.assigned.1`, `${uid}.running.1`, `${uid}.succeeded.1`]);
    for (const d of events) {
      expect(d.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(d.headers['x-agent-orchestrator-signature']).toBe(signatureOf(d.raw));
      expect(d.event).toMatchObject({
        specversion: '1.0',
        source: `/apis/${API_VERSION}/namespaces/${ns.name}/tasks/whole-life`,
        datacontenttype: 'application/json',
      });
    }
    expect(events.at(-1)?.event.data).toMatchObject({
      name: 'whole-life',
      namespace: ns.name,
      phase: 'Succeeded',
      previousPhase: 'Running',
      attempt: 1,
      agent: 'worker',
    });

    const [question] = receiver.about('whole-life', '/gate');
    expect(question?.event).toMatchObject({
      id: `${uid}.preassignment.1`,
      type: 'dev.orchestrator.task.preassignment',
      data: { generation: 1, spec: { input: 'say hello' } },
    });
    expect(question?.headers['x-agent-orchestrator-signature']).toBeUndefined();
    const done = await task('whole-life');
    expect(done.metadata.annotations).toMatchObject({
      'hooks.agents.orchestrator.dev/verdict': 'allow',
      'hooks.agents.orchestrator.dev/generation': '1',
    });
  });

  it('holds a vetoed task Pending with the hook’s message, and runs it once a new generation is allowed', async () => {
    receiver.answers.set('vetoed', { allow: false, message: 'not on Fridays' });
    await fleet.task('vetoed', { input: 'deploy' });
    const held = await waitFor(
      'the veto in the Scheduled condition',
      async () => {
        const t = await task('vetoed');
        const scheduled = t.status?.conditions?.find((c) => c.type === 'Scheduled');
        return scheduled?.message === 'hooks: vetoed by hook gate: not on Fridays' ? t : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(held.status?.phase).toBe('Pending');
    expect(held.status?.conditions?.find((c) => c.type === 'Scheduled')?.status).toBe('False');
    expect(held.metadata.annotations?.['hooks.agents.orchestrator.dev/verdict']).toBe('deny');

    // The receiver changes its mind; a change of the spec asks it again.
    receiver.answers.set('vetoed', {
      allow: true,
      message: 'approved by the change board',
      labels: { reviewed: 'yes' },
      inputPrefix: 'approved: ',
    });
    await client.request('PATCH', objectPath(Tasks, ns.name, 'vetoed'), {
      body: { spec: { priority: 200 } },
      contentType: 'application/merge-patch+json',
    });
    const ran = await waitFor('vetoed to succeed', phaseIs('vetoed', 'Succeeded'), { timeoutMs: 60_000 });
    expect(ran.spec.input).toBe('approved: deploy');
    expect(ran.metadata.labels?.reviewed).toBe('yes');
    expect(ran.metadata.annotations).toMatchObject({
      'hooks.agents.orchestrator.dev/verdict': 'allow',
      'hooks.agents.orchestrator.dev/message': 'approved by the change board',
      'hooks.agents.orchestrator.dev/generation': String(ran.metadata.generation),
    });
    expect(receiver.about('vetoed', '/gate').map((d) => d.event.data.generation)).toEqual([1, 2]);
  });

  it('reports deliveries and the failing endpoint on the policy (status.plugins)', async () => {
    const report = await waitFor('the hooks report with the broken endpoint', async () => {
      const entry = (await policy()).status?.plugins?.find((p) => p.name === 'hooks');
      return entry?.lastFailure?.startsWith('endpoint broken: HTTP 503') ? entry : undefined;
    });
    expect(report.message).toMatch(/^\d+ delivered, \d+ failed; endpoint broken: last failure \S+Z: HTTP 503: down \(after 2 attempts\)$/);
    expect(report.lastFailureTime).toMatch(/Z$/);
  });

  it('sends a recent phase again after a restart, with the same id', async () => {
    const before = receiver.about('whole-life', '/events').filter((d) => d.event.type.endsWith('.succeeded'));
    expect(before).toHaveLength(1);
    await operator?.stop();
    operator = await startOperator(ns.name, env);
    const again = await waitFor('the replay', () => {
      const got = receiver.about('whole-life', '/events').filter((d) => d.event.type.endsWith('.succeeded'));
      return got.length > 1 ? got : undefined;
    });
    // The same id and time: a receiver drops it as a duplicate. (The data may say more or
    // less: a replay knows no previous phase, and sees the status as it is now.)
    expect(again[1]?.event.id).toBe(before[0]?.event.id);
    expect(again[1]?.event.time).toBe(before[0]?.event.time);
    expect(again[1]?.event.data).toMatchObject({ phase: 'Succeeded', attempt: 1, agent: 'worker' });
    expect(again[1]?.headers['x-agent-orchestrator-signature']).toBe(signatureOf(again[1]?.raw ?? ''));
  });

  it('refuses a bad hooks configuration, naming the field, and keeps the last good one', async () => {
    const bad = hooksConfig();
    (bad.endpoints as Record<string, unknown>[])[0] = { name: 'audit', url: 'ftp://example.com/x', events: ['task.*'] };
    await client.request('PATCH', objectPath(Policies, ns.name, 'default'), {
      body: { spec: { plugins: { hooks: bad } } },
      contentType: 'application/merge-patch+json',
    });
    const ready = await waitFor('Ready=False', async () => {
      const c = (await policy()).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'False' ? c : undefined;
    });
    expect(ready.reason).toBe('InvalidPluginConfig');
    expect(ready.message).toContain('spec.plugins.hooks.endpoints[0].url: must be an http:// or https:// URL');
  });
});
