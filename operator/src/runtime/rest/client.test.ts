// The transport alone, against a loopback HTTP server that misbehaves on purpose (the API
// server itself is exercised by the integration tests).
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { RestClient, type Query, type RestClientOptions } from './client.ts';
import { FakeClock } from '../../../../test/support/fake-clock.ts';
import { waitFor } from '../../../../test/support/wait.ts';
import type { KubeObject } from './object.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, nth: number) => void;

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A loopback server; `nth` counts requests on each connection from 1. */
async function serve(handler: Handler, options: RestClientOptions = {}): Promise<{ client: RestClient; requests: string[] }> {
  const requests: string[] = [];
  const perSocket = new WeakMap<Socket, number>();
  const server = http.createServer((req, res) => {
    const nth = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, nth);
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    handler(req, res, nth);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new RestClient(
    { server: `http://127.0.0.1:${String(port)}`, proxyUrl: undefined, credentials: () => Promise.resolve({ headers: {}, tls: {} }) },
    options,
  );
  return { client, requests };
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
};

describe('RestClient transport', () => {
  it('sends a GET again on a new connection when the server closed the kept-alive one as it was reused, but not a write', async () => {
    // The second request on any connection finds it closed: what a server's idle timeout
    // racing a reuse looks like from the client.
    const { client, requests } = await serve((req, res, nth) => {
      if (nth > 1) req.socket.destroy();
      else json(res, 200, { n: requests.length });
    });
    expect(await client.request('GET', '/a')).toEqual({ n: 1 });
    expect(await client.request('GET', '/b')).toEqual({ n: 3 });
    expect(requests).toEqual(['GET /a', 'GET /b', 'GET /b']);

    await expect(client.request('POST', '/c', { body: {} })).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(requests.filter((r) => r === 'POST /c')).toHaveLength(1);
    await client.close();
  });

  it('turns a non-2xx answer into an ApiError with the Status reason and message', async () => {
    const { client } = await serve((_req, res) => {
      json(res, 409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' });
    });
    const err: unknown = await client.request('PUT', '/x', { body: { a: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, reason: 'Conflict', message: 'PUT /x: 409 Conflict: the object has been modified' });
    await client.close();
  });

  it('gives up on a server that does not answer within the deadline, naming the request', async () => {
    const { client } = await serve(() => undefined);
    await expect(client.request('GET', '/slow', { timeoutMs: 50 })).rejects.toMatchObject({
      name: 'TimeoutError',
      message: 'GET /slow: no answer within 50 ms',
    });
    await client.close();
  });

  it('parses a watch stream whose lines are split across chunks, and ends with the reason of the abort', async () => {
    const { client } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const line = JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'é-1' } } }) + '\n';
      const bytes = Buffer.from(line + line.replace('é-1', 'é-2'));
      // Split inside the two-byte é: decoding must not mangle it.
      const cut = bytes.indexOf(Buffer.from('é')) + 1;
      res.write(bytes.subarray(0, cut));
      setImmediate(() => res.write(bytes.subarray(cut)));
    });
    const stop = new AbortController();
    const names: string[] = [];
    const reason = new Error('stopped by the test');
    const watching = (async () => {
      for await (const event of client.watch<KubeObject>('/w', {}, stop.signal)) {
        names.push(event.object.metadata.name ?? '');
        if (names.length === 2) stop.abort(reason);
      }
    })();
    await expect(watching).rejects.toBe(reason);
    expect(names).toEqual(['é-1', 'é-2']);
    await client.close();
  });

  describe('a prefetched watch', () => {
    /** A watch server: one ADDED event per request, named after the request's query, then the stream stays open. */
    const watchServer = (options: RestClientOptions = {}, closed: string[] = []): ReturnType<typeof serve> =>
      serve((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: req.url ?? '' } } }) + '\n');
        res.on('close', () => closed.push(req.url ?? ''));
      }, options);

    async function firstEvent(client: RestClient, path: string, query: Query, signal: AbortSignal): Promise<string> {
      for await (const event of client.watch<KubeObject>(path, query, signal)) return event.object.metadata.name ?? '';
      return '';
    }

    it('is taken over by the first watch of the same path and query, whatever its timeout; another query opens its own', async () => {
      const { client, requests } = await watchServer();
      await client.prefetchWatch('/w', { labelSelector: 'a=1', sendInitialEvents: true, timeoutSeconds: 5 });
      expect(requests).toEqual(['GET /w?labelSelector=a%3D1&sendInitialEvents=true&timeoutSeconds=5&watch=true']);
      const stop = new AbortController();
      // The stream the server answered the prefetch with, not a new one.
      expect(await firstEvent(client, '/w', { sendInitialEvents: true, labelSelector: 'a=1', timeoutSeconds: 300 }, stop.signal)).toBe(
        requests[0]?.slice(4),
      );
      expect(requests).toHaveLength(1);
      // Claimed once: the next watch of the same query, and one of another, each send their own.
      await firstEvent(client, '/w', { labelSelector: 'a=1', sendInitialEvents: true }, stop.signal);
      await firstEvent(client, '/w', { labelSelector: 'a=2', sendInitialEvents: true }, stop.signal);
      expect(requests).toHaveLength(3);
      stop.abort();
      await client.close();
    });

    it('hands its error to the watch that claims it, as if that watch had sent the request', async () => {
      const { client, requests } = await serve((_req, res) => {
        json(res, 422, {
          kind: 'Status',
          reason: 'Invalid',
          message: 'sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled',
        });
      });
      await client.prefetchWatch('/w', { sendInitialEvents: true });
      const err: unknown = await firstEvent(client, '/w', { sendInitialEvents: true }, new AbortController().signal).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ status: 422, reason: 'Invalid' });
      expect(requests).toHaveLength(1);
      await client.close();
    });

    it('is closed when nobody claims it within holdMs, and by close()', async () => {
      const clock = new FakeClock();
      const closed: string[] = [];
      const { client, requests } = await watchServer({ clock }, closed);
      await client.prefetchWatch('/unclaimed', {}, { holdMs: 30_000 });
      await client.prefetchWatch('/at-close', {}, { holdMs: 60_000 });
      await clock.advance(29_999);
      expect(closed).toEqual([]);
      await clock.advance(1);
      await waitFor('the server to see the unclaimed watch closed', () => (closed.length === 1 ? closed : undefined));
      expect(closed).toEqual(['/unclaimed?watch=true']);
      await client.close();
      await waitFor('the server to see the other closed', () => (closed.length === 2 ? closed : undefined));
      expect(requests).toHaveLength(2);
    });
  });
});
