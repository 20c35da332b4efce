import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { OUTPUT_LIMIT_BYTES, type ExecutionResult, type TaskInput } from './executor.ts';
import { HttpExecutor } from './http.ts';

const task: TaskInput = { namespace: 'team-a', name: 'summarise', attempt: 1, input: 'hi', payload: { k: [1] }, timeoutSeconds: 30 };

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let server: Server;
let url: string;
let handler: Handler;
let received: Promise<IncomingMessage>;

beforeEach(async () => {
  let arrived: (req: IncomingMessage) => void = () => undefined;
  received = new Promise((resolve) => (arrived = resolve));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrived(req);
      handler(req, Buffer.concat(chunks).toString('utf8'), res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tasks`;
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

function reply(status: number, body: string, type = 'application/json'): Handler {
  return (_req, _body, res) => {
    res.writeHead(status, { 'content-type': type }).end(body);
  };
}

function execute(options: { clock?: FakeClock; signal?: AbortSignal } = {}): Promise<ExecutionResult> {
  const executor = new HttpExecutor({ url, ...(options.clock ? { clock: options.clock } : {}) });
  return executor.execute(task, options.signal ?? new AbortController().signal);
}

describe('HttpExecutor', () => {
  it('posts the task as JSON and maps a success', async () => {
    let request: { method: string | undefined; type: string | undefined; url: string | undefined; body: unknown } | undefined;
    handler = (req, body, res) => {
      request = { method: req.method, type: req.headers['content-type'], url: req.url, body: JSON.parse(body) };
      reply(200, JSON.stringify({ output: 'done', usage: { tokens: 812 } }))(req, body, res);
    };
    expect(await execute()).toEqual({ outcome: 'Succeeded', output: 'done', reason: 'HTTP 200', usage: { contextTokens: 812 } });
    expect(request).toEqual({
      method: 'POST',
      type: 'application/json',
      url: '/tasks',
      body: { namespace: 'team-a', name: 'summarise', attempt: 1, input: 'hi', payload: { k: [1] } },
    });
  });

  it('maps a reported failure with its exit code', async () => {
    handler = reply(200, JSON.stringify({ succeeded: false, exitCode: 3, output: 'tests failed' }));
    expect(await execute()).toEqual({
      outcome: 'Failed',
      exitCode: 3,
      output: 'tests failed',
      reason: 'the agent reported failure (exit code 3)',
    });
  });

  it('takes an empty 2xx body as success without output', async () => {
    handler = (_req, _body, res) => res.writeHead(204).end();
    expect(await execute()).toEqual({ outcome: 'Succeeded', output: '', reason: 'HTTP 204' });
  });

  it('truncates a large output, keeping the end', async () => {
    handler = reply(200, JSON.stringify({ output: 'x'.repeat(200_000) + 'END' }));
    const result = await execute();
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(result.output).toMatch(/^\[output truncated: first \d+ bytes dropped\]\nx+END$/);
  });

  it.each([
    { name: 'the context alone', usage: { tokens: 812 }, expected: { contextTokens: 812 } },
    {
      name: 'every field',
      usage: { tokens: 1500, inputTokens: 1200, outputTokens: 300, cachedTokens: 800, model: 'gpt-4o-mini' },
      expected: { contextTokens: 1500, inputTokens: 1200, outputTokens: 300, cachedTokens: 800, model: 'gpt-4o-mini' },
    },
    { name: 'counts without the context', usage: { inputTokens: 10, outputTokens: 0 }, expected: { inputTokens: 10, outputTokens: 0 } },
    { name: 'keys this runner does not know, ignored', usage: { outputTokens: 3, costUsd: 0.01 }, expected: { outputTokens: 3 } },
    { name: 'an empty usage, as none', usage: {}, expected: undefined },
  ])('reads a usage with $name', async ({ usage, expected }) => {
    handler = reply(200, JSON.stringify({ output: 'ok', usage }));
    const result = await execute();
    expect(result).toMatchObject({ outcome: 'Succeeded', output: 'ok' });
    expect(result.usage).toEqual(expected);
  });

  it.each([
    { name: 'not JSON', body: '<html>oops</html>', reason: 'invalid response from the agent server: not JSON: <html>oops</html>' },
    { name: 'a wrong field type', body: '{"output": 42}', reason: /^invalid response from the agent server: output: / },
    { name: 'an exit code out of range', body: '{"exitCode": 99999}', reason: /^invalid response from the agent server: exitCode: / },
    { name: 'a usage that is a number', body: '{"usage": 5}', reason: 'invalid response from the agent server: usage: expected an object' },
    {
      name: 'a negative input count',
      body: '{"usage": {"inputTokens": -1}}',
      reason: 'invalid response from the agent server: usage.inputTokens: expected a whole number, 0 or more',
    },
    {
      name: 'a fractional context',
      body: '{"usage": {"tokens": 1.5}}',
      reason: 'invalid response from the agent server: usage.tokens: expected a whole number, 0 or more',
    },
    {
      name: 'a model that is not a string',
      body: '{"usage": {"model": 7}}',
      reason: /^invalid response from the agent server: usage.model: expected a model name/,
    },
  ])('fails on $name', async ({ body, reason }) => {
    handler = reply(200, body);
    const result = await execute();
    expect(result.outcome).toBe('Failed');
    expect(result.reason).toMatch(reason);
  });

  it('fails on a non-2xx status with the start of the body', async () => {
    handler = reply(503, `overloaded ${'z'.repeat(5000)}`, 'text/plain');
    expect(await execute()).toEqual({ outcome: 'Failed', output: '', reason: `HTTP 503: overloaded ${'z'.repeat(189)}` });
  });

  it('does not follow redirects off the agent server', async () => {
    handler = (_req, _body, res) => res.writeHead(307, { location: 'http://example.com/tasks' }).end();
    const result = await execute();
    expect(result.outcome).toBe('Failed');
    expect(result.reason).toContain(url);
  });

  it('fails, naming the URL, when nothing listens', async () => {
    server.close();
    await once(server, 'close');
    server.listen(0, '127.0.0.1'); // so afterEach has something to close
    await once(server, 'listening');
    const result = await execute();
    expect(result).toEqual({ outcome: 'Failed', output: '', reason: `cannot reach the agent server at ${url}: ECONNREFUSED` });
  });

  it('times out at the deadline and drops the connection', async () => {
    handler = () => undefined;
    const clock = new FakeClock();
    const execution = execute({ clock });
    const req = await received;
    const closed = once(req.socket, 'close');
    let settled = false;
    void execution.then(() => (settled = true));
    await clock.advance(29_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await execution).toEqual({ outcome: 'TimedOut', output: '', reason: 'timed out after 30s' });
    await closed;
  });

  it('resolves Cancelled when the signal aborts mid-request', async () => {
    handler = () => undefined;
    const abort = new AbortController();
    const execution = execute({ signal: abort.signal });
    const req = await received;
    const closed = once(req.socket, 'close');
    abort.abort();
    expect(await execution).toMatchObject({ outcome: 'Cancelled' });
    await closed;
  });

  it('does not call the server when the signal has aborted already', async () => {
    let called = false;
    handler = (req, body, res) => {
      called = true;
      reply(200, '{}')(req, body, res);
    };
    expect((await execute({ signal: AbortSignal.abort() })).outcome).toBe('Cancelled');
    expect(called).toBe(false);
  });

  it.each([
    'http://127.0.0.1:8000/tasks',
    'http://127.3.2.1/',
    'http://2130706433/',
    'http://localhost:8000/',
    'http://LOCALHOST/',
    'http://[::1]:8000/tasks',
    'http://[0:0:0:0:0:0:0:1]/',
    'https://127.0.0.1/',
  ])('accepts the loopback URL %s', (u) => {
    expect(() => new HttpExecutor({ url: u })).not.toThrow();
  });

  it.each([
    'http://10.0.0.7:8000/tasks',
    'http://128.0.0.1/',
    'http://0.0.0.0/',
    'http://example.com/',
    'http://localhost.example.com/',
    'http://127.0.0.1.nip.io/',
    'http://[::2]/',
    'http://[::ffff:10.0.0.1]/',
    'ftp://127.0.0.1/',
    'not a url',
  ])('refuses %s', (u) => {
    expect(() => new HttpExecutor({ url: u })).toThrow();
  });
});
