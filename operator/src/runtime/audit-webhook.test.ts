import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AuditWebhook } from './audit-webhook.ts';
import { systemClock } from './clock.ts';
import { ApiError } from './errors.ts';
import type { RestClient, RequestOptions } from './rest/client.ts';

// The endpoint's HTTP side on loopback; the API server behind it is a map of Agents that
// answers GET and merge-patches status under a resourceVersion, as the real one does.
// The whole path against the real API server is test/disruptive/audit-webhook.test.ts.
class Agents {
  readonly objects = new Map<string, { metadata: { name: string; resourceVersion: string }; status?: Record<string, unknown> }>();
  conflictsLeft = 0;
  failing = false;
  writes = 0;

  client(): RestClient {
    const request = async (method: string, path: string, options: RequestOptions = {}): Promise<unknown> => {
      await Promise.resolve();
      const [, name = '', sub] = /\/agents\/([^/]+)(\/status)?$/.exec(path) ?? [];
      const obj = this.objects.get(name);
      if (!obj) throw new ApiError(404, 'NotFound', `agents "${name}" not found`, method, path);
      if (method === 'GET') return structuredClone(obj);
      if (this.failing) throw new ApiError(500, 'InternalError', 'etcd is down', method, path);
      const body = options.body as { metadata: { resourceVersion: string }; status: Record<string, unknown> };
      if (this.conflictsLeft > 0 || body.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        this.conflictsLeft--;
        obj.metadata.resourceVersion = String(Number(obj.metadata.resourceVersion) + 1);
        throw new ApiError(409, 'Conflict', 'the object has been modified', method, path);
      }
      expect(sub).toBe('/status');
      obj.status = { ...obj.status, ...body.status };
      obj.metadata.resourceVersion = String(Number(obj.metadata.resourceVersion) + 1);
      this.writes++;
      return obj;
    };
    return { request } as unknown as RestClient;
  }
}

const event = (id: string, user: string, name = 'bobs-task'): Record<string, unknown> => ({
  auditID: id,
  stage: 'ResponseComplete',
  verb: 'get',
  user: { username: user },
  objectRef: { resource: 'tasks', namespace: 'team-a', name },
  responseStatus: { code: 403, message: 'forbidden' },
  stageTimestamp: '2026-12-01T10:00:00.000000Z',
});
const batch = (...items: unknown[]): string => JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items });
const MALLORY = 'system:serviceaccount:team-a:agent-mallory';

describe('AuditWebhook', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  async function start(agents: Agents, o: { token?: string; namespaces?: string[] } = {}): Promise<{ webhook: AuditWebhook; url: string }> {
    const webhook = new AuditWebhook({
      bind: '127.0.0.1:0',
      token: o.token,
      client: agents.client(),
      namespaces: o.namespaces ?? [],
      // Flushed by hand: the test says when.
      flushMs: 3_600_000,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
    });
    const stop = new AbortController();
    const running = webhook.run(stop.signal);
    stops.push(async () => {
      stop.abort();
      await running;
    });
    for (let i = 0; i < 100 && webhook.address === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    return { webhook, url: `http://${webhook.address ?? ''}/audit` };
  }
  const post = async (url: string, body: string, headers: Record<string, string> = {}): Promise<number> =>
    (await fetch(url, { method: 'POST', body, headers })).status;

  it('files refusals of agent identities on their Agents, one write per agent, each refusal once', async () => {
    const agents = new Agents();
    agents.objects.set('mallory', { metadata: { name: 'mallory', resourceVersion: '1' } });
    const { webhook, url } = await start(agents);
    expect(await post(url, batch(event('1', MALLORY), event('2', MALLORY), event('3', 'system:serviceaccount:team-a:builder')))).toBe(200);
    // The backend resends a batch whose POST it saw fail: the same ids count once.
    expect(await post(url, batch(event('1', MALLORY), event('2', MALLORY)))).toBe(200);
    agents.conflictsLeft = 2;
    await webhook.flush();
    expect(agents.writes).toBe(1);
    expect(agents.objects.get('mallory')?.status).toEqual({
      refusals: {
        audited: {
          total: 2,
          recent: [
            {
              time: '2026-12-01T10:00:00.000Z',
              verb: 'get',
              resource: 'tasks',
              name: 'bobs-task',
              namespace: 'team-a',
              count: 2,
              message: 'forbidden',
            },
          ],
        },
      },
    });
    await webhook.flush();
    expect(agents.writes).toBe(1);
  });

  it('keeps what it could not write for the next flush, and drops what belongs to a deleted Agent', async () => {
    const agents = new Agents();
    agents.objects.set('mallory', { metadata: { name: 'mallory', resourceVersion: '1' } });
    const { webhook, url } = await start(agents);
    await post(url, batch(event('1', MALLORY), event('2', 'system:serviceaccount:team-a:agent-gone')));
    agents.failing = true;
    await webhook.flush();
    expect(agents.writes).toBe(0);
    agents.failing = false;
    await webhook.flush();
    expect(agents.writes).toBe(1);
    await webhook.flush();
    expect(agents.writes).toBe(1);
  });

  it('files nothing for namespaces the operator does not watch', async () => {
    const agents = new Agents();
    agents.objects.set('mallory', { metadata: { name: 'mallory', resourceVersion: '1' } });
    const { webhook, url } = await start(agents, { namespaces: ['team-b'] });
    expect(await post(url, batch(event('1', MALLORY)))).toBe(200);
    await webhook.flush();
    expect(agents.writes).toBe(0);
  });

  it.each([
    ['a body that is not JSON', '{', { authorization: 'Bearer s3cret' }, 400],
    ['a body that is not an EventList', JSON.stringify({ kind: 'Event' }), { authorization: 'Bearer s3cret' }, 400],
    ['no token', batch(), {}, 401],
    ['the wrong token', batch(), { authorization: 'Bearer nope' }, 401],
    ['the token', batch(), { authorization: 'Bearer s3cret' }, 200],
  ])('answers %s (%#)', async (_case, body, headers, status) => {
    const { url } = await start(new Agents(), { token: 's3cret' });
    expect(await post(url, body, headers)).toBe(status);
  });

  it('takes POST /audit only', async () => {
    const { url } = await start(new Agents());
    expect((await fetch(url)).status).toBe(405);
    expect((await fetch(url.replace('/audit', '/metrics'), { method: 'POST' })).status).toBe(404);
  });
});
