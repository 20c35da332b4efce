import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.ts';
import type { ExecutionResult, TaskInput } from './executor.ts';
import { DEFAULT_MODEL_COMPACT_PROMPT, ModelExecutor, userMessage, type ModelExecutorOptions } from './model.ts';

const task = (extra: Partial<TaskInput> = {}): TaskInput => ({
  namespace: 'team-a',
  name: 'review-42',
  attempt: 1,
  input: 'Review this.',
  timeoutSeconds: 30,
  ...extra,
});

interface Received {
  req: IncomingMessage;
  body: { messages: { role: string; content: string }[]; [key: string]: unknown };
}
type Handler = (received: Received, res: ServerResponse) => void;

let server: Server;
let base: string;
let endpoint: string;
let handlers: Handler[];
let received: Received[];

beforeEach(async () => {
  handlers = [];
  received = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { req, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] };
      received.push(r);
      // Each request takes the next handler; the last one answers the rest.
      const handler = handlers.length > 1 ? handlers.shift() : handlers[0];
      handler?.(r, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  endpoint = `${base}/chat/completions`;
});

afterEach(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

/** Starts an event stream and writes the events given; more can follow. */
function stream(res: ServerResponse, ...events: unknown[]): void {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const e of events) res.write(`data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`);
}

const delta = (content: string, finish: string | null = null): unknown => ({
  model: 'served-model',
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});
const usageChunk = (prompt: number, completion: number, cached?: number): unknown => ({
  model: 'served-model',
  choices: [],
  usage: {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    ...(cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: cached } }),
  },
});

/** A complete streamed answer. */
function answer(text: string, usage: [number, number] = [10, 2]): Handler {
  return (_r, res) => {
    stream(res, delta(text), delta('', 'stop'), usageChunk(...usage), '[DONE]');
    res.end();
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
  return (_r, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
}

/** A fake clock that also records the waits the executor asks for. */
class WatchedClock extends FakeClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms, signal);
  }
}

function executor(options: Partial<ModelExecutorOptions> = {}): ModelExecutor {
  return new ModelExecutor({ baseUrl: base, model: 'configured-model', ...options });
}

const run = (e: ModelExecutor, extra: Partial<TaskInput> = {}, signal = new AbortController().signal): Promise<ExecutionResult> =>
  e.execute(task(extra), signal);

describe('ModelExecutor', () => {
  it('streams the answer: logs each line as it is generated, returns the whole text and the usage', async () => {
    const lines: string[] = [];
    let firstLogged: () => void = () => undefined;
    const logged = new Promise<void>((resolve) => (firstLogged = resolve));
    handlers = [
      (_r, res) => {
        stream(res, delta('Hel'), delta('lo\nwor'));
        // The rest only once the first line has been logged: the lines follow the generation.
        void logged.then(() => {
          stream(res, delta('ld\n'), delta('bye', 'stop'), usageChunk(50, 7, 32), '[DONE]');
          res.end();
        });
      },
    ];
    const e = executor({
      systemPrompt: 'You review code.',
      maxTokens: 256,
      temperature: 0.2,
      onLine: (t, s, line) => {
        lines.push(`${t.name} ${s} ${line}`);
        firstLogged();
      },
    });
    const result = await run(e, { payload: { pr: 42 } });
    expect(result).toEqual({
      outcome: 'Succeeded',
      output: 'Hello\nworld\nbye',
      reason: 'finish_reason stop',
      usage: { inputTokens: 50, outputTokens: 7, cachedTokens: 32, contextTokens: 57, model: 'served-model' },
    });
    expect(lines).toEqual(['review-42 stdout Hello', 'review-42 stdout world', 'review-42 stdout bye']);
    const [request] = received;
    expect(request?.req.url).toBe('/v1/chat/completions');
    expect(request?.req.headers.authorization).toBeUndefined();
    expect(request?.body).toEqual({
      model: 'configured-model',
      messages: [
        { role: 'system', content: 'You review code.' },
        { role: 'user', content: 'Review this.\n\nPayload (JSON):\n{"pr":42}' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 256,
      temperature: 0.2,
    });
  });

  it('reads a server that answers with one JSON document; an answer cut at max_tokens still succeeds', async () => {
    const lines: string[] = [];
    handlers = [
      json(200, {
        model: 'llama3.1:8b',
        choices: [{ index: 0, message: { role: 'assistant', content: 'first\nsecond' }, finish_reason: 'length' }],
        usage: { prompt_tokens: 12, completion_tokens: 64 },
      }),
    ];
    const result = await run(executor({ maxTokens: 64, onLine: (_t, _s, l) => lines.push(l) }));
    expect(result).toEqual({
      outcome: 'Succeeded',
      output: 'first\nsecond',
      reason: 'the answer was cut at max_tokens (64)',
      usage: { inputTokens: 12, outputTokens: 64, contextTokens: 76, model: 'llama3.1:8b' },
    });
    expect(lines).toEqual(['first', 'second']);
  });

  it('takes the configured model name when the server does not say', async () => {
    handlers = [json(200, { choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }] })];
    expect((await run(executor())).usage).toEqual({ model: 'configured-model' });
  });

  it('fails on an HTTP error with the status and the endpoint message, without retrying a 4xx', async () => {
    handlers = [json(401, { error: { message: 'Invalid API key', type: 'invalid_request_error' } })];
    expect(await run(executor())).toEqual({ outcome: 'Failed', output: '', reason: `HTTP 401 from ${endpoint}: Invalid API key` });
    expect(received).toHaveLength(1);
  });

  it('retries a 429 after its Retry-After, then succeeds', async () => {
    const clock = new WatchedClock();
    handlers = [json(429, { error: { message: 'slow down' } }, { 'retry-after': '2' }), answer('done')];
    const execution = run(executor({ clock }));
    await vi.waitFor(() => {
      expect(clock.sleeps).toEqual([2000]);
    });
    await clock.advance(1999);
    expect(received).toHaveLength(1);
    await clock.advance(1);
    expect(await execution).toMatchObject({ outcome: 'Succeeded', output: 'done' });
    expect(received).toHaveLength(2);
  });

  it('backs off on 5xx and gives up after its retries, naming the last error', async () => {
    const clock = new WatchedClock();
    handlers = [json(503, { object: 'error', message: 'no capacity' })];
    const execution = run(executor({ clock, retries: 2 }));
    for (const [i, wait] of [1000, 2000].entries()) {
      await vi.waitFor(() => {
        expect(clock.sleeps).toHaveLength(i + 1);
      });
      expect(clock.sleeps[i]).toBe(wait);
      await clock.advance(wait);
    }
    expect(await execution).toEqual({ outcome: 'Failed', output: '', reason: `HTTP 503 from ${endpoint}: no capacity` });
    expect(received).toHaveLength(3);
  });

  it('does not wait for a Retry-After past the task timeout', async () => {
    const clock = new WatchedClock();
    handlers = [json(429, { error: { message: 'quota' } }, { 'retry-after': '30' })];
    expect(await run(executor({ clock }), { timeoutSeconds: 30 })).toEqual({
      outcome: 'Failed',
      output: '',
      reason: `HTTP 429 from ${endpoint}: quota (not retried: the wait of 30s would pass the task's timeout)`,
    });
    expect(clock.sleeps).toEqual([]);
  });

  it.each([
    {
      name: 'an error event in the stream',
      events: [delta('par'), { error: { message: 'the engine died' } }],
      outcome: 'Failed',
      reason: (e: string) => `the model at ${e} reported an error: the engine died`,
    },
    {
      name: 'a stream cut before the end',
      events: [delta('par')],
      outcome: 'Failed',
      reason: (e: string) => `the stream from ${e} ended before the answer was complete`,
    },
    {
      name: 'an event that is not JSON',
      events: ['{oops'],
      outcome: 'Failed',
      reason: (e: string) => `an event from ${e} is not JSON: {oops`,
    },
    {
      name: 'the content filter',
      events: [delta('', 'content_filter'), '[DONE]'],
      outcome: 'Failed',
      reason: () => "the endpoint's content filter stopped the answer",
    },
    { name: 'a stream without [DONE]', events: [delta('ok', 'stop')], outcome: 'Succeeded', reason: () => 'finish_reason stop' },
    {
      name: 'a cut without max_tokens set',
      events: [delta('ok', 'length'), '[DONE]'],
      outcome: 'Succeeded',
      reason: () => "the answer was cut at the endpoint's max_tokens",
    },
  ])('reads $name', async ({ events, outcome, reason }) => {
    handlers = [
      (_r, res) => {
        stream(res, ...events);
        res.end();
      },
    ];
    expect(await run(executor())).toMatchObject({ outcome, reason: reason(endpoint) });
  });

  it('fails, naming the endpoint, when nothing listens', async () => {
    server.close();
    await once(server, 'close');
    server.listen(0, '127.0.0.1'); // so afterEach has something to close
    await once(server, 'listening');
    expect(await run(executor())).toEqual({ outcome: 'Failed', output: '', reason: `cannot reach the model at ${endpoint}: ECONNREFUSED` });
  });

  it('fails when no response comes within the first-byte timeout', async () => {
    const clock = new FakeClock();
    handlers = [() => undefined];
    const execution = run(executor({ clock, firstByteTimeoutMs: 5000 }));
    await vi.waitFor(() => {
      expect(received).toHaveLength(1);
    });
    await clock.advance(5000);
    expect(await execution).toEqual({ outcome: 'Failed', output: '', reason: `no response from ${endpoint} within 5s` });
  });

  it('cancels mid-stream: Cancelled, with what arrived, and the server sees the connection close', async () => {
    const abort = new AbortController();
    let closed: Promise<unknown> = Promise.resolve();
    handlers = [
      ({ req }, res) => {
        closed = once(req.socket, 'close');
        stream(res, delta('partial line\n'));
      },
    ];
    const onLine = (): void => {
      abort.abort();
    };
    const execution = run(executor({ onLine }), {}, abort.signal);
    expect(await execution).toEqual({ outcome: 'Cancelled', output: 'partial line\n', reason: 'cancelled by the runner' });
    await closed;
  });

  it('times out mid-stream: TimedOut, with what arrived, and the connection closed', async () => {
    const clock = new FakeClock();
    let started: () => void = () => undefined;
    const generated = new Promise<void>((resolve) => (started = resolve));
    const generating = (): void => {
      started();
    };
    let closed: Promise<unknown> = Promise.resolve();
    handlers = [
      ({ req }, res) => {
        closed = once(req.socket, 'close');
        stream(res, delta('thinking\n'));
      },
    ];
    const execution = run(executor({ clock, onLine: generating }), { timeoutSeconds: 45 });
    await generated;
    let settled = false;
    void execution.then(() => (settled = true));
    await clock.advance(44_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    expect(await execution).toEqual({ outcome: 'TimedOut', output: 'thinking\n', reason: 'timed out after 45s' });
    await closed;
  });

  it('does not call the endpoint when the signal has aborted already', async () => {
    handlers = [answer('x')];
    expect((await run(executor(), {}, AbortSignal.abort())).outcome).toBe('Cancelled');
    expect(received).toHaveLength(0);
  });

  it('sends the key as a Bearer token and keeps it out of outputs, reasons and log lines', async () => {
    const key = 'sk-test-0123456789abcdef';
    const lines: string[] = [];
    handlers = [json(401, { error: { message: `Incorrect API key provided: ${key}` } }), answer(`the key is ${key}\n`)];
    const e = executor({ apiKey: key, onLine: (_t, _s, l) => lines.push(l) });
    const failed = await run(e);
    const succeeded = await run(e);
    expect(received.map((r) => r.req.headers.authorization)).toEqual([`Bearer ${key}`, `Bearer ${key}`]);
    expect(failed).toEqual({ outcome: 'Failed', output: '', reason: `HTTP 401 from ${endpoint}: Incorrect API key provided: [redacted]` });
    expect(succeeded.output).toBe('the key is [redacted]\n');
    expect(lines).toEqual(['the key is [redacted]']);
    expect(JSON.stringify([failed, succeeded, lines])).not.toContain(key);
  });
});

describe('sessions', () => {
  const system = { role: 'system', content: 'Be brief.' };
  const user = (content: string): { role: string; content: string } => ({ role: 'user', content });
  const assistant = (content: string): { role: string; content: string } => ({ role: 'assistant', content });

  it('task: every task is a fresh conversation, and there is nothing to compact', async () => {
    handlers = [answer('A1'), answer('A2')];
    const e = executor({ systemPrompt: 'Be brief.' });
    await run(e, { input: 'first' });
    await run(e, { input: 'second' });
    expect(received.map((r) => r.body.messages)).toEqual([
      [system, user('first')],
      [system, user('second')],
    ]);
    expect(await e.compact(new AbortController().signal)).toEqual({
      outcome: 'Compacted',
      reason: 'nothing to compact: each task starts a fresh conversation (RUNNER_MODEL_SESSION=task)',
      contextTokens: 0,
    });
    expect(received).toHaveLength(2);
  });

  it('agent: later tasks see the earlier turns, failed ones excluded; compact replaces them with the summary', async () => {
    handlers = [
      answer('A1'),
      json(400, { error: { message: 'bad request' } }),
      answer('A3'),
      answer('the summary', [900, 40]),
      answer('A4'),
    ];
    const e = executor({ systemPrompt: 'Be brief.', session: 'agent' });
    expect((await run(e, { input: 'first' })).outcome).toBe('Succeeded');
    expect((await run(e, { input: 'second' })).outcome).toBe('Failed');
    expect((await run(e, { input: 'third' })).outcome).toBe('Succeeded');
    expect(await e.compact(new AbortController().signal)).toEqual({
      outcome: 'Compacted',
      reason: 'compacted to a summary of 40 tokens',
      summary: 'the summary',
      contextTokens: 40,
    });
    await run(e, { input: 'fourth' });
    const summarised = { role: 'system', content: 'Be brief.\n\nA summary of the conversation so far:\nthe summary' };
    expect(received.map((r) => r.body.messages)).toEqual([
      [system, user('first')],
      [system, user('first'), assistant('A1'), user('second')],
      [system, user('first'), assistant('A1'), user('third')],
      [system, user('first'), assistant('A1'), user('third'), assistant('A3'), user(DEFAULT_MODEL_COMPACT_PROMPT)],
      [summarised, user('fourth')],
    ]);
  });

  it('agent: a failed compaction keeps the conversation', async () => {
    handlers = [answer('A1'), json(500, { error: { message: 'oom' } }), answer('A2')];
    const e = executor({ session: 'agent', compactPrompt: 'Sum up.', retries: 0 });
    await run(e, { input: 'first' });
    expect(await e.compact(new AbortController().signal)).toEqual({
      outcome: 'Failed',
      reason: `compaction: HTTP 500 from ${endpoint}: oom`,
    });
    await run(e, { input: 'second' });
    expect(received.map((r) => r.body.messages)).toEqual([
      [user('first')],
      [user('first'), assistant('A1'), user('Sum up.')],
      [user('first'), assistant('A1'), user('second')],
    ]);
  });

  it('agent: seed starts the conversation from a saved summary', async () => {
    handlers = [answer('A1')];
    const e = executor({ session: 'agent' });
    e.seed('what happened before');
    await run(e, { input: 'next' });
    expect(received[0]?.body.messages).toEqual([
      { role: 'system', content: 'A summary of the conversation so far:\nwhat happened before' },
      user('next'),
    ]);
  });

  it('agent: the conversation keeps at most maxSessionMessages turns, the oldest dropped first', async () => {
    handlers = [answer('A1'), answer('A2'), answer('A3')];
    const e = executor({ session: 'agent', maxSessionMessages: 2 });
    for (const input of ['first', 'second', 'third']) await run(e, { input });
    expect(received[2]?.body.messages).toEqual([user('second'), assistant('A2'), user('third')]);
  });
});

describe('userMessage', () => {
  it.each([
    { name: 'the input alone', extra: {}, message: 'Review this.' },
    { name: 'no input', extra: { input: undefined }, message: '' },
    { name: 'a payload', extra: { payload: { repo: 'org/app' } }, message: 'Review this.\n\nPayload (JSON):\n{"repo":"org/app"}' },
    {
      name: 'dependency results',
      extra: { input: undefined, dependencies: { plan: { output: 'step 1', exitCode: 0 }, lint: { output: 'clean' } } },
      message: 'Results of the tasks this one depends on:\n--- plan (exit code 0)\nstep 1\n--- lint\nclean',
    },
  ])('holds $name', ({ extra, message }) => {
    expect(userMessage(task(extra as Partial<TaskInput>))).toBe(message);
  });
});

describe('construction', () => {
  it.each(['ftp://models/v1', 'not a url'])('refuses the base URL %s', (url) => {
    expect(() => new ModelExecutor({ baseUrl: url, model: 'm' })).toThrow();
  });

  it('keeps the base path, with or without a trailing slash', async () => {
    handlers = [answer('ok')];
    await run(new ModelExecutor({ baseUrl: `${base}/`, model: 'm' }));
    expect(received[0]?.req.url).toBe('/v1/chat/completions');
  });
});
