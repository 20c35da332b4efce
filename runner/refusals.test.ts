import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../operator/src/runtime/errors.ts';
import type { Query } from '../operator/src/runtime/rest/client.ts';
import { FakeClock } from '../test/support/fake-clock.ts';
import { refusalOf, RefusalReporter, RefusalReportingClient } from './refusals.ts';

describe('refusalOf: a refused request in the audit log’s words', () => {
  it.each([
    [
      'GET',
      '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks/b1',
      undefined,
      { verb: 'get', resource: 'tasks', name: 'b1', namespace: 'ns' },
    ],
    ['GET', '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks', undefined, { verb: 'list', resource: 'tasks', namespace: 'ns' }],
    [
      'GET',
      '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks',
      { fieldSelector: 'metadata.name=b1', watch: true },
      { verb: 'watch', resource: 'tasks', name: 'b1', namespace: 'ns' },
    ],
    [
      'GET',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles',
      { fieldSelector: 'metadata.name=agent-a' },
      { verb: 'list', resource: 'roles', name: 'agent-a', namespace: 'ns' },
    ],
    [
      'PUT',
      '/apis/coordination.k8s.io/v1/namespaces/ns/leases/agent-b',
      undefined,
      { verb: 'update', resource: 'leases', name: 'agent-b', namespace: 'ns' },
    ],
    ['POST', '/apis/coordination.k8s.io/v1/namespaces/ns/leases', undefined, { verb: 'create', resource: 'leases', namespace: 'ns' }],
    [
      'PATCH',
      '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks/b1/status',
      undefined,
      { verb: 'patch', resource: 'tasks/status', name: 'b1', namespace: 'ns' },
    ],
    ['DELETE', '/api/v1/namespaces/ns/pods', undefined, { verb: 'deletecollection', resource: 'pods', namespace: 'ns' }],
    ['GET', '/api/v1/namespaces/ns/secrets/key', undefined, { verb: 'get', resource: 'secrets', name: 'key', namespace: 'ns' }],
    ['GET', '/api/v1/namespaces/other', undefined, { verb: 'get', resource: 'namespaces', name: 'other' }],
    ['GET', '/apis/agents.orchestrator.dev/v1alpha1/tasks', undefined, { verb: 'list', resource: 'tasks' }],
  ] as [string, string, Query | undefined, object][])('%s %s', (method, path, query, expected) => {
    expect(refusalOf(method, path, query, 'forbidden')).toEqual({ ...expected, message: 'forbidden' });
  });
});

// The transport against a loopback server that refuses everything but the Agent's own
// status, as RBAC refuses a compromised runner (the real API server: the integration test).
describe('RefusalReportingClient and RefusalReporter', () => {
  const servers: http.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  async function apiServer(): Promise<{ url: string; status: () => Record<string, unknown> | undefined; writes: () => number }> {
    let rv = 1;
    let status: Record<string, unknown> | undefined;
    let writes = 0;
    const server = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const agent = '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/agents/alice';
      const json = (code: number, body: unknown): void => {
        res.writeHead(code, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
      };
      if (req.method === 'GET' && path === agent) {
        json(200, { metadata: { name: 'alice', resourceVersion: String(rv) }, status });
        return;
      }
      if (req.method === 'PATCH' && path === `${agent}/status`) {
        let text = '';
        req.on('data', (c: Buffer) => (text += c.toString()));
        req.on('end', () => {
          status = { ...status, ...(JSON.parse(text) as { status: Record<string, unknown> }).status };
          rv++;
          writes++;
          json(200, { metadata: { name: 'alice', resourceVersion: String(rv) }, status });
        });
        return;
      }
      json(403, { kind: 'Status', reason: 'Forbidden', message: `forbidden: ${req.method ?? ''} ${path}`, code: 403 });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, status: () => status, writes: () => writes };
  }

  it('reports every 403 of requests and watches in one coalesced status write, and nothing when nothing was refused', async () => {
    const api = await apiServer();
    const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));
    const access = { server: api.url, proxyUrl: undefined, credentials: () => Promise.resolve({ headers: {}, tls: {} }) };
    const holder: { reporter?: RefusalReporter } = {};
    const client = new RefusalReportingClient(access, (r) => holder.reporter?.record(r));
    const reporter = new RefusalReporter({
      client,
      namespace: 'ns',
      agent: 'alice',
      intervalMs: 5000,
      clock,
      logger: pino({ level: 'silent' }),
    });
    holder.reporter = reporter;
    const tasks = '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks';
    for (let i = 0; i < 3; i++) await expect(client.request('GET', `${tasks}/b1`)).rejects.toMatchObject({ status: 403 });
    const watch = client.watch(tasks, { fieldSelector: 'metadata.name=b1' }, new AbortController().signal);
    await expect(watch.next()).rejects.toBeInstanceOf(ApiError);
    expect(reporter.waiting).toBe(4);
    await reporter.flush();
    expect(api.writes()).toBe(1);
    expect(api.status()).toMatchObject({
      refusals: {
        reported: {
          total: 4,
          recent: [
            { verb: 'get', resource: 'tasks', name: 'b1', namespace: 'ns', count: 3 },
            { verb: 'watch', resource: 'tasks', name: 'b1', namespace: 'ns', count: 1 },
          ],
        },
      },
    });
    await reporter.flush();
    expect(api.writes()).toBe(1);
    await client.close();
  });
});
