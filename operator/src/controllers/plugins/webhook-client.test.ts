import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../framework/lifecycle.ts';
import { systemClock } from '../../runtime/clock.ts';
import { ApiError } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { PluginReports } from './host.ts';
import type { PluginHook } from './lifecycle-host.ts';
import { SIGNATURE_HEADER, WebhookClient } from './webhook-client.ts';

// The webhook client against a real HTTP server on the loopback interface. The API
// server's part (a Secret read, a Task patched) is a stub here: the integration test
// (test/integration/plugins/hooks.test.ts) runs it against a real one.

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}
type Handler = (req: Received, res: ServerResponse) => void;

let server: Server;
let base = '';
const received: Received[] = [];
let handler: Handler = (_req, res) => res.writeHead(204).end();

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      handler(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(() => {
  received.length = 0;
  handler = (_req, res) => res.writeHead(204).end();
});

const KEY = 'a signing key';

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/** The API server's part: a Secret `hook-key` and a Task `t` in namespace ns. */
function stubApi(task: Record<string, unknown> = {}): { client: RestClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = {
    request: async (method: string, path: string, options: { body?: unknown } = {}): Promise<unknown> => {
      calls.push({ method, path, body: options.body });
      if (path === '/api/v1/namespaces/ns/secrets/hook-key') return { data: { token: Buffer.from(KEY).toString('base64') } };
      if (path.includes('/secrets/')) throw new ApiError(404, 'NotFound', 'not found', method, path);
      if (path.endsWith('/tasks/t') && method === 'GET') {
        return {
          metadata: { name: 't', generation: 2, resourceVersion: '7', annotations: {} },
          spec: { input: 'do it' },
          status: { phase: 'Pending' },
          ...task,
        };
      }
      if (path.endsWith('/tasks/t') && method === 'PATCH') {
        const spec = (options.body as { spec?: unknown }).spec;
        return { metadata: { name: 't', generation: spec ? 3 : 2 } };
      }
      throw new ApiError(404, 'NotFound', 'not found', method, path);
    },
  } as unknown as RestClient;
  return { client, calls };
}

function event(id: string, data: unknown = { phase: 'Succeeded' }): CloudEvent {
  return {
    specversion: '1.0',
    id,
    source: '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks/t',
    type: 'dev.orchestrator.task.succeeded',
    subject: 't',
    time: '2026-01-01T00:00:00Z',
    datacontenttype: 'application/json',
    data,
  };
}

function hook(fields: Partial<PluginHook> = {}): PluginHook {
  return {
    plugin: 'hooks',
    endpoint: 'audit',
    url: `${base}/events`,
    event: event('uid.succeeded.1'),
    timeoutMs: 2000,
    retries: 0,
    backoffMs: 10,
    failurePolicy: 'Ignore',
    ...fields,
  };
}

const GATE = {
  task: 't',
  generation: 2,
  annotations: { verdict: 'x.dev/verdict', message: 'x.dev/message', generation: 'x.dev/generation', answeredAt: 'x.dev/answered-at' },
};

function webhooks(
  client: RestClient = stubApi().client,
  options: { queueLimit?: number; concurrency?: number } = {},
): { wc: WebhookClient; reports: PluginReports } {
  const reports = new PluginReports();
  const wc = new WebhookClient({
    client,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    reports,
    metrics: new Registry(),
    ...options,
  });
  return { wc, reports };
}

describe('delivery', () => {
  it('POSTs the CloudEvent as application/cloudevents+json with an HMAC-SHA256 signature of the exact body', async () => {
    const { wc, reports } = webhooks();
    wc.deliver('ns', [hook({ signingSecret: { name: 'hook-key', key: 'token' } })]);
    await wc.idle();
    expect(received).toHaveLength(1);
    const [r] = received;
    expect(r?.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    const expected = `sha256=${createHmac('sha256', KEY)
      .update(r?.body ?? '')
      .digest('hex')}`;
    expect(r?.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(expected);
    expect(JSON.parse(r?.body ?? '')).toEqual(event('uid.succeeded.1'));
    expect(wc.endpointState('ns', 'hooks', 'audit')).toMatchObject({ delivered: 1, failed: 0 });
    expect(reports.for('ns')).toEqual([{ name: 'hooks', message: '1 delivered, 0 failed' }]);
  });

  it('POSTs only the event’s data as application/json for a receiver with its own format, signed the same way', async () => {
    const { wc } = webhooks();
    wc.deliver('ns', [
      hook({
        body: 'data',
        event: event('slo.1', { version: '4', status: 'firing', alerts: [] }),
        signingSecret: { name: 'hook-key', key: 'token' },
      }),
    ]);
    await wc.idle();
    const [r] = received;
    expect(r?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r?.body ?? '')).toEqual({ version: '4', status: 'firing', alerts: [] });
    expect(r?.headers[SIGNATURE_HEADER.toLowerCase()]).toBe(
      `sha256=${createHmac('sha256', KEY)
        .update(r?.body ?? '')
        .digest('hex')}`,
    );
  });

  it('sends no signature when the endpoint names no Secret', async () => {
    const { wc } = webhooks();
    wc.deliver('ns', [hook()]);
    await wc.idle();
    expect(received[0]?.headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
  });

  it('retries a 500 with backoff, then succeeds', async () => {
    let calls = 0;
    handler = (_r, res) => res.writeHead(++calls < 3 ? 500 : 200).end('oops');
    const { wc } = webhooks();
    wc.deliver('ns', [hook({ retries: 3 })]);
    await wc.idle();
    expect(calls).toBe(3);
    expect(wc.endpointState('ns', 'hooks', 'audit')).toMatchObject({ delivered: 1, failed: 0 });
  });

  it('gives up after the last retry and reports the failure with the endpoint', async () => {
    handler = (_r, res) => res.writeHead(503).end('down for maintenance');
    const { wc, reports } = webhooks();
    wc.deliver('ns', [hook({ retries: 2 })]);
    await wc.idle();
    expect(received).toHaveLength(3);
    const state = wc.endpointState('ns', 'hooks', 'audit');
    expect(state).toMatchObject({ delivered: 0, failed: 1, lastFailure: { message: 'HTTP 503: down for maintenance (after 3 attempts)' } });
    const [report] = reports.for('ns');
    expect(report?.message).toMatch(
      /^0 delivered, 1 failed; endpoint audit: last failure \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: HTTP 503: down for maintenance \(after 3 attempts\)$/,
    );
    expect(report?.lastFailure).toBe('endpoint audit: HTTP 503: down for maintenance (after 3 attempts)');
    expect(report?.lastFailureTime).toMatch(/Z$/);
  });

  it('does not retry a 4xx answer other than 408 and 429', async () => {
    handler = (_r, res) => res.writeHead(400).end();
    const { wc } = webhooks();
    wc.deliver('ns', [hook({ retries: 3 })]);
    await wc.idle();
    expect(received).toHaveLength(1);
    expect(wc.endpointState('ns', 'hooks', 'audit')?.lastFailure?.message).toBe('HTTP 400');
  });

  it('times a request out', async () => {
    handler = () => undefined; // never answers
    const { wc } = webhooks();
    wc.deliver('ns', [hook({ timeoutMs: 150, retries: 1 })]);
    await wc.idle();
    expect(received).toHaveLength(2);
    expect(wc.endpointState('ns', 'hooks', 'audit')?.lastFailure?.message).toBe('no answer within 150 ms (after 2 attempts)');
  });

  it('fails with a clear message when the signing Secret or its key is missing', async () => {
    const { wc } = webhooks();
    wc.deliver('ns', [
      hook({ endpoint: 'a', signingSecret: { name: 'nope', key: 'token' } }),
      hook({ endpoint: 'b', signingSecret: { name: 'hook-key', key: 'other' } }),
    ]);
    await wc.idle();
    expect(received).toHaveLength(0);
    expect(wc.endpointState('ns', 'hooks', 'a')?.lastFailure?.message).toBe('signing Secret nope not found in namespace ns');
    expect(wc.endpointState('ns', 'hooks', 'b')?.lastFailure?.message).toBe('signing Secret hook-key has no key other');
  });

  it('reads a Secret once while it is fresh', async () => {
    const api = stubApi();
    const { wc } = webhooks(api.client);
    const ref = { name: 'hook-key', key: 'token' };
    wc.deliver('ns', [hook({ event: event('e1'), signingSecret: ref }), hook({ event: event('e2'), signingSecret: ref })]);
    await wc.idle();
    expect(received).toHaveLength(2);
    expect(api.calls.filter((c) => c.path.includes('/secrets/'))).toHaveLength(1);
  });

  it('delivers one endpoint’s events in order, one at a time, even across retries', async () => {
    let failFirst = true;
    handler = (r, res) => {
      const id = (JSON.parse(r.body) as { id: string }).id;
      if (id === 'e1' && failFirst) {
        failFirst = false;
        res.writeHead(500).end();
      } else res.writeHead(200).end();
    };
    const { wc } = webhooks();
    wc.deliver(
      'ns',
      ['e1', 'e2', 'e3'].map((id) => hook({ event: event(id), retries: 2 })),
    );
    await wc.idle();
    expect(received.map((r) => (JSON.parse(r.body) as { id: string }).id)).toEqual(['e1', 'e1', 'e2', 'e3']);
  });

  it('queues an event id once while it waits or is in flight', async () => {
    const { wc } = webhooks();
    wc.deliver('ns', [hook(), hook()]);
    wc.deliver('ns', [hook()]);
    await wc.idle();
    expect(received).toHaveLength(1);
  });

  it('a hanging endpoint does not hold up another', async () => {
    let release: (() => void) | undefined;
    handler = (r, res) => {
      if (r.path === '/slow') release = () => res.writeHead(200).end();
      else res.writeHead(200).end();
    };
    const { wc } = webhooks(undefined, { concurrency: 4 });
    wc.deliver('ns', [hook({ endpoint: 'slow', url: `${base}/slow`, timeoutMs: 30_000 }), hook({ endpoint: 'fast', url: `${base}/fast` })]);
    const deadline = Date.now() + 5000;
    while (wc.endpointState('ns', 'hooks', 'fast')?.delivered !== 1 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(wc.endpointState('ns', 'hooks', 'fast')?.delivered).toBe(1);
    expect(wc.endpointState('ns', 'hooks', 'slow')).toBeUndefined();
    release?.();
    await wc.idle();
    expect(wc.endpointState('ns', 'hooks', 'slow')?.delivered).toBe(1);
  });

  it('drops what does not fit the bounded queue, and says so', async () => {
    handler = () => undefined;
    const { wc } = webhooks(undefined, { queueLimit: 10 });
    // One endpoint may hold a tenth of the queue: one waiting, one in flight.
    wc.deliver(
      'ns',
      ['e1', 'e2', 'e3'].map((id) => hook({ event: event(id), timeoutMs: 100 })),
    );
    expect(wc.endpointState('ns', 'hooks', 'audit')).toMatchObject({ failed: 1, lastFailure: { message: 'queue full: event e3 dropped' } });
    await wc.idle();
  });

  it('stops: in-flight requests are aborted and waiting ones dropped', async () => {
    handler = () => undefined;
    const { wc } = webhooks();
    const stop = new AbortController();
    const running = wc.run(stop.signal);
    wc.deliver(
      'ns',
      ['e1', 'e2'].map((id) => hook({ event: event(id), timeoutMs: 60_000 })),
    );
    while (received.length === 0) await new Promise((r) => setImmediate(r));
    stop.abort();
    await running;
    expect(received).toHaveLength(1);
    wc.deliver('ns', [hook({ event: event('e3') })]);
    await wc.idle();
    expect(received).toHaveLength(1);
  });
});

describe('pre-assignment gate', () => {
  const gateHook = (fields: Partial<PluginHook> = {}): PluginHook =>
    hook({ endpoint: 'gate', url: `${base}/gate`, event: event('uid.preassignment.2'), gate: GATE, ...fields });
  const patches = (calls: Call[]): unknown[] => calls.filter((c) => c.method === 'PATCH').map((c) => c.body);

  it('writes an allow with labels and the input prefix in one merge patch, recording the generation the patch makes', async () => {
    handler = (_r, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ allow: true, message: 'ok', labels: { reviewed: 'yes' }, inputPrefix: 'approved: ' }));
    const api = stubApi();
    const { wc } = webhooks(api.client);
    wc.deliver('ns', [gateHook()]);
    await wc.idle();
    expect(patches(api.calls)).toEqual([
      {
        metadata: {
          resourceVersion: '7',
          annotations: {
            'x.dev/verdict': 'allow',
            'x.dev/message': 'ok',
            'x.dev/generation': '3',
            'x.dev/answered-at': expect.stringMatching(/Z$/) as unknown,
          },
          labels: { reviewed: 'yes' },
        },
        spec: { input: 'approved: do it' },
      },
    ]);
  });

  it('writes a denial without labels or prefix', async () => {
    handler = (_r, res) =>
      res.writeHead(200).end(JSON.stringify({ allow: false, message: 'not on Fridays', labels: { a: 'b' }, inputPrefix: 'x' }));
    const api = stubApi();
    const { wc } = webhooks(api.client);
    wc.deliver('ns', [gateHook()]);
    await wc.idle();
    expect(patches(api.calls)).toEqual([
      {
        metadata: {
          resourceVersion: '7',
          annotations: expect.objectContaining({
            'x.dev/verdict': 'deny',
            'x.dev/message': 'not on Fridays',
            'x.dev/generation': '2',
          }) as unknown,
        },
      },
    ]);
  });

  it('writes nothing when the task’s generation moved on, or it already holds an answer for it', async () => {
    handler = (_r, res) => res.writeHead(200).end(JSON.stringify({ allow: true }));
    for (const task of [
      { metadata: { name: 't', generation: 3 } },
      { metadata: { name: 't', generation: 2, annotations: { 'x.dev/verdict': 'deny', 'x.dev/generation': '2' } } },
      { status: { phase: 'Assigned' } },
    ]) {
      const api = stubApi(task);
      const { wc } = webhooks(api.client);
      wc.deliver('ns', [gateHook()]);
      await wc.idle();
      expect(patches(api.calls)).toEqual([]);
    }
  });

  it.each([
    ['Ignore', 'allow', /^the hook could not be asked: HTTP 500 \(after 2 attempts\); allowed \(failurePolicy Ignore\)$/],
    ['Fail', 'error', /^the hook could not be asked: HTTP 500 \(after 2 attempts\) \(failurePolicy Fail\)$/],
  ] as const)('after the last retry, failurePolicy %s writes %s', async (failurePolicy, verdict, message) => {
    handler = (_r, res) => res.writeHead(500).end();
    const api = stubApi();
    const { wc } = webhooks(api.client);
    wc.deliver('ns', [gateHook({ failurePolicy, retries: 1 })]);
    await wc.idle();
    const [patch] = patches(api.calls) as { metadata: { annotations: Record<string, string> } }[];
    expect(patch?.metadata.annotations['x.dev/verdict']).toBe(verdict);
    expect(patch?.metadata.annotations['x.dev/message']).toMatch(message);
  });

  it.each([
    ['not JSON', 'yes', /^the answer is not JSON: yes/],
    ['no allow', '{"message":"hm"}', /^the answer is not \{allow: boolean, message\?, labels\?, inputPrefix\?\}: allow: /],
    [
      'a label of the operator’s domain',
      '{"allow":true,"labels":{"agents.orchestrator.dev/agent":"x"}}',
      /labels\.agents\.orchestrator\.dev\/agent: label agents\.orchestrator\.dev\/agent is in the operator's own domain/,
    ],
    ['a bad label value', '{"allow":true,"labels":{"team":"not ok!"}}', /labels\.team: not a valid label value/],
  ])('an answer with %s is a failure the failurePolicy decides, not retried', async (_case, body, message) => {
    handler = (_r, res) => res.writeHead(200).end(body);
    const api = stubApi();
    const { wc } = webhooks(api.client);
    wc.deliver('ns', [gateHook({ failurePolicy: 'Fail', retries: 3 })]);
    await wc.idle();
    expect(received).toHaveLength(1);
    expect(wc.endpointState('ns', 'hooks', 'gate')?.lastFailure?.message).toMatch(message);
    const [patch] = patches(api.calls) as { metadata: { annotations: Record<string, string> } }[];
    expect(patch?.metadata.annotations['x.dev/verdict']).toBe('error');
  });

  it('does not ask again right after answering (the cache may not show the answer yet)', async () => {
    handler = (_r, res) => res.writeHead(200).end('{"allow":true}');
    const { wc } = webhooks();
    wc.deliver('ns', [gateHook()]);
    await wc.idle();
    wc.deliver('ns', [gateHook()]);
    await wc.idle();
    expect(received).toHaveLength(1);
  });
});
