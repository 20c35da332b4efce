// The transport alone, against a loopback HTTP server that misbehaves on purpose (the API
// server itself is exercised by the integration tests).
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { RestClient } from './client.ts';
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
async function serve(handler: Handler): Promise<{ client: RestClient; requests: string[] }> {
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
  const client = new RestClient({ server: `http://127.0.0.1:${String(port)}`, proxyUrl: undefined, credentials: () => Promise.resolve({ headers: {}, tls: {} }) });
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
    await expect(client.request('GET', '/slow', { timeoutMs: 50 })).rejects.toMatchObject({ name: 'TimeoutError', message: 'GET /slow: no answer within 50 ms' });
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
});
