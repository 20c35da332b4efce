/**
 * Runs each Task as a call to a model: POST {baseUrl}/chat/completions, the OpenAI chat
 * completions API that vLLM, llama.cpp's server, Ollama and the hosted APIs serve.
 *
 * What the model sees: the system prompt (if any), the conversation so far (session
 * `agent` only), then one user message: spec.input, the payload as JSON and the results
 * of the tasks it depends on.
 *
 * The answer streams (server-sent events); each completed line goes to `onLine` as it is
 * generated, so `kubectl logs` follows it. The whole answer is the output. A server that
 * answers with one JSON document instead of a stream is read the same way.
 *
 * Outcomes: an answer is Succeeded, also when cut at max_tokens (the reason says so); an
 * HTTP error is Failed with the status and the endpoint's message, after a few retries
 * with backoff for 429 and 5xx (Retry-After honoured, never past the task's deadline);
 * no response headers within `firstByteTimeoutMs` is Failed; past timeoutSeconds
 * TimedOut; an aborted signal Cancelled. Cancelling or timing out closes the connection,
 * which is how the server learns to stop generating.
 *
 * Sessions: `task` (default) sends each task on its own; `agent` keeps the conversation
 * in this process across tasks, so the context grows like a chat agent's until `compact`
 * replaces it by a summary. Run such an agent with maxConcurrentTasks 1: concurrent
 * tasks would each see the conversation as it was when they started.
 */
import { isAborted, systemClock, type Clock } from '../../operator/src/runtime/clock.ts';
import { errorMessage, readChunk, readCompletion, retryAfterMs, tokenUsage, type ChatMessage, type Reading } from './chat-completions.ts';
import { Conversation } from './conversation.ts';
import {
  clip,
  compactionTask,
  truncateOutput,
  type CompactResult,
  type ExecutionResult,
  type Executor,
  type TaskInput,
  type TokenUsage,
} from './executor.ts';
import { describeFetchError, readBody } from './fetching.ts';
import { LineSplitter } from './lines.ts';
import { SseParser } from './sse.ts';

export interface ModelExecutorOptions {
  /** The API's base URL, e.g. http://vllm.models:8000/v1 or https://api.openai.com/v1. */
  baseUrl: string;
  model: string;
  /** Sent as `Authorization: Bearer <key>`; never in an output, a reason or a log line. */
  apiKey?: string;
  systemPrompt?: string;
  maxTokens?: number;
  temperature?: number;
  /** `task`: a fresh conversation per task; `agent`: one conversation across tasks. */
  session?: 'task' | 'agent';
  /** What compaction asks the model (RUNNER_COMPACT_PROMPT). */
  compactPrompt?: string;
  /** How long a compaction call may take. */
  compactTimeoutSeconds?: number;
  /** Session `agent`: turns kept at most, the oldest dropped first. */
  maxSessionMessages?: number;
  /** From sending the request to the response headers. */
  firstByteTimeoutMs?: number;
  /** Retries after a 429 or 5xx. */
  retries?: number;
  clock?: Clock;
  /** Each line of the answer as it is generated (the runner logs it with the task's name). */
  onLine?: (task: TaskInput, stream: 'stdout' | 'stderr', line: string) => void;
}

export const DEFAULT_MODEL_COMPACT_PROMPT =
  'Summarize our conversation so far so that you can continue the work from the summary alone: ' +
  'the goals, what has been done and found, the decisions made and why, the open questions and the next steps. ' +
  'Keep names, paths, numbers and identifiers exact. Answer with the summary only.';

/** Far above any answer a model generates, far below trouble for the runner. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Enough of an error body for a reason. */
const MAX_ERROR_BYTES = 4096;
/** Shorter strings are placeholders (vLLM's EMPTY, Ollama's ollama), not secrets worth masking in answers. */
const MIN_SECRET_CHARS = 12;

/** How one call to the endpoint went. */
interface Call {
  outcome: ExecutionResult['outcome'];
  /** The answer, or as much of it as arrived. */
  text: string;
  reason: string;
  usage?: TokenUsage;
}

export class ModelExecutor implements Executor {
  readonly name = 'model';
  private readonly endpoint: URL;
  private readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly maxTokens: number | undefined;
  private readonly temperature: number | undefined;
  private readonly session: 'task' | 'agent';
  private readonly compactPrompt: string;
  private readonly compactTimeoutSeconds: number;
  private readonly firstByteTimeoutMs: number;
  private readonly retries: number;
  private readonly clock: Clock;
  private readonly onLine: ModelExecutorOptions['onLine'];
  private readonly conversation: Conversation;

  constructor(options: ModelExecutorOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`model URL ${options.baseUrl} must be http or https`);
    if (options.model === '') throw new Error('ModelExecutor needs a model name');
    // new URL('chat/completions', 'http://h/v1') would drop the v1.
    this.endpoint = new URL('chat/completions', base.href.endsWith('/') ? base.href : `${base.href}/`);
    this.model = options.model;
    this.apiKey = options.apiKey === '' ? undefined : options.apiKey;
    this.maxTokens = options.maxTokens;
    this.temperature = options.temperature;
    this.session = options.session ?? 'task';
    this.compactPrompt = options.compactPrompt ?? DEFAULT_MODEL_COMPACT_PROMPT;
    this.compactTimeoutSeconds = options.compactTimeoutSeconds ?? 600;
    this.firstByteTimeoutMs = options.firstByteTimeoutMs ?? 120_000;
    this.retries = options.retries ?? 3;
    this.clock = options.clock ?? systemClock;
    this.onLine = options.onLine;
    this.conversation = new Conversation(options.systemPrompt, options.maxSessionMessages ?? 200);
  }

  async execute(task: TaskInput, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return { outcome: 'Cancelled', output: '', reason: 'cancelled before it started' };
    const user = userMessage(task);
    // Session task: the conversation never records, so it is the system prompt alone.
    const before = this.conversation.messages();
    const call = await this.call([...before, { role: 'user', content: user }], task, signal);
    // Only a finished exchange joins the conversation: a half answer would mislead the next task.
    if (call.outcome === 'Succeeded' && this.session === 'agent') this.conversation.record(user, call.text);
    return {
      outcome: call.outcome,
      output: truncateOutput(this.redact(call.text)),
      reason: call.reason,
      ...(call.usage ? { usage: call.usage } : {}),
    };
  }

  /**
   * Session `agent`: asks the model for a summary and continues from it. Session `task`
   * keeps no conversation, so there is nothing to compact and the context left is 0.
   */
  async compact(signal: AbortSignal): Promise<CompactResult> {
    if (this.session === 'task') {
      return {
        outcome: 'Compacted',
        reason: 'nothing to compact: each task starts a fresh conversation (RUNNER_MODEL_SESSION=task)',
        contextTokens: 0,
      };
    }
    if (this.conversation.empty) return { outcome: 'Compacted', reason: 'nothing to compact: the conversation is empty', contextTokens: 0 };
    if (signal.aborted) return { outcome: 'Failed', reason: 'compaction cancelled before it started' };
    const mark = this.conversation.exchanges;
    const messages: ChatMessage[] = [...this.conversation.messages(), { role: 'user', content: this.compactPrompt }];
    const call = await this.call(messages, compactionTask(this.compactPrompt, this.compactTimeoutSeconds), signal);
    if (call.outcome !== 'Succeeded') return { outcome: 'Failed', reason: `compaction: ${call.reason}` };
    const summary = this.redact(call.text).trim();
    if (summary === '') return { outcome: 'Failed', reason: 'compaction: the model answered with an empty summary' };
    this.conversation.compactTo(summary, mark);
    // The summary's own size: the system prompt and any exchange kept are not counted
    // here; the next task's report has the full figure.
    const tokens = call.usage?.outputTokens;
    return {
      outcome: 'Compacted',
      reason: `compacted to a summary${tokens === undefined ? '' : ` of ${tokens} tokens`}${call.reason.startsWith('the answer was cut') ? `; ${call.reason}` : ''}`,
      summary,
      ...(tokens === undefined ? {} : { contextTokens: tokens }),
    };
  }

  /** Session `agent`: continue from a summary saved before a recycle. Session `task` keeps nothing. */
  seed(summary: string): void {
    if (this.session === 'agent' && summary.trim() !== '') this.conversation.compactTo(summary.trim());
  }

  private async call(messages: ChatMessage[], task: TaskInput, signal: AbortSignal): Promise<Call> {
    const deadline = new AbortController();
    const deadlineAt = this.clock.now() + task.timeoutSeconds * 1000;
    const cancelDeadline = this.clock.setTimer(task.timeoutSeconds * 1000, () => {
      deadline.abort();
    });
    const answer = new Answer((line) => this.onLine?.(task, 'stdout', this.redact(line)));
    const body = JSON.stringify({
      model: this.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(this.maxTokens === undefined ? {} : { max_tokens: this.maxTokens }),
      ...(this.temperature === undefined ? {} : { temperature: this.temperature }),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream, application/json' };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    const stopped = AbortSignal.any([signal, deadline.signal]);
    const reach = `cannot reach the model at ${this.endpoint.href}`;
    let step = reach;
    let firstByte: AbortController | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        const waiting = new AbortController();
        firstByte = waiting;
        const cancelFirstByte = this.clock.setTimer(this.firstByteTimeoutMs, () => {
          waiting.abort();
        });
        let res: Response;
        try {
          res = await fetch(this.endpoint, {
            method: 'POST',
            headers,
            body,
            signal: AbortSignal.any([stopped, waiting.signal]),
            // A redirect would carry the key somewhere nobody configured.
            redirect: 'error',
          });
        } finally {
          cancelFirstByte();
        }
        step = `reading the answer from ${this.endpoint.href} failed`;
        if (res.ok) return this.finish(await this.read(res, answer), answer);
        const { text } = await readBody(res, MAX_ERROR_BYTES);
        const reason = `HTTP ${res.status} from ${this.endpoint.href}: ${clip(this.redact(errorMessage(text)) || res.statusText)}`;
        if (!(res.status === 429 || res.status >= 500) || attempt >= this.retries) return { outcome: 'Failed', text: '', reason };
        const wait = retryAfterMs(res.headers.get('retry-after'), this.clock.now()) ?? Math.min(30_000, 1000 * 2 ** attempt);
        if (this.clock.now() + wait >= deadlineAt) {
          return {
            outcome: 'Failed',
            text: '',
            reason: `${reason} (not retried: the wait of ${Math.ceil(wait / 1000)}s would pass the task's timeout)`,
          };
        }
        await this.clock.sleep(wait, stopped);
        stopped.throwIfAborted();
        step = reach;
      }
    } catch (err) {
      const partial = answer.end();
      if (isAborted(signal)) return { outcome: 'Cancelled', text: partial, reason: 'cancelled by the runner' };
      if (deadline.signal.aborted) return { outcome: 'TimedOut', text: partial, reason: `timed out after ${task.timeoutSeconds}s` };
      if (firstByte?.signal.aborted)
        return {
          outcome: 'Failed',
          text: partial,
          reason: `no response from ${this.endpoint.href} within ${this.firstByteTimeoutMs / 1000}s`,
        };
      return { outcome: 'Failed', text: partial, reason: `${step}: ${this.redact(describeFetchError(err))}` };
    } finally {
      cancelDeadline();
    }
  }

  /** Reads a stream, or one JSON answer from a server that does not stream. */
  private async read(res: Response, answer: Answer): Promise<Reading | string> {
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('text/event-stream')) {
      const { text, complete } = await readBody(res, MAX_RESPONSE_BYTES);
      if (!complete) return `the answer from ${this.endpoint.href} is larger than ${MAX_RESPONSE_BYTES} bytes`;
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return `the answer from ${this.endpoint.href} is neither an event stream nor JSON: ${clip(text.trim())}`;
      }
      const reading = readCompletion(json);
      answer.add(reading.content);
      return reading;
    }
    const total: Reading = { content: '' };
    // Set by the parser's callback, so an object: the compiler cannot see those writes to a local.
    const seen: { done: boolean; problem: string | undefined } = { done: false, problem: undefined };
    const parser = new SseParser((data) => {
      if (seen.problem !== undefined || seen.done) return;
      if (data === '[DONE]') {
        seen.done = true;
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        seen.problem = `an event from ${this.endpoint.href} is not JSON: ${clip(data)}`;
        return;
      }
      const chunk = readChunk(json);
      if (chunk.error !== undefined) {
        total.error = chunk.error;
        return;
      }
      answer.add(chunk.content);
      if (chunk.finishReason !== undefined) total.finishReason = chunk.finishReason;
      if (chunk.usage !== undefined) total.usage = chunk.usage;
      if (chunk.model !== undefined) total.model = chunk.model;
    });
    if (res.body === null) return `the answer from ${this.endpoint.href} has no body`;
    const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
    let size = 0;
    for (;;) {
      const { done: ended, value } = await reader.read();
      if (ended) break;
      size += value.length;
      if (size > MAX_RESPONSE_BYTES) seen.problem = `the answer from ${this.endpoint.href} is larger than ${MAX_RESPONSE_BYTES} bytes`;
      else parser.push(value);
      if (seen.problem !== undefined || total.error !== undefined || seen.done) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
    if (seen.problem === undefined && total.error === undefined) parser.end();
    if (seen.problem !== undefined) return seen.problem;
    if (total.error === undefined && !seen.done && total.finishReason === undefined) {
      return `the stream from ${this.endpoint.href} ended before the answer was complete`;
    }
    return total;
  }

  private finish(reading: Reading | string, answer: Answer): Call {
    const text = answer.end();
    if (typeof reading === 'string') return { outcome: 'Failed', text, reason: reading };
    if (reading.error !== undefined)
      return {
        outcome: 'Failed',
        text,
        reason: `the model at ${this.endpoint.href} reported an error: ${clip(this.redact(reading.error))}`,
      };
    const usage = tokenUsage(reading.usage, reading.model ?? this.model);
    const finish = reading.finishReason;
    if (finish === 'content_filter') return { outcome: 'Failed', text, reason: "the endpoint's content filter stopped the answer", usage };
    if (finish === 'length') {
      const limit = this.maxTokens === undefined ? "the endpoint's max_tokens" : `max_tokens (${this.maxTokens})`;
      return { outcome: 'Succeeded', text, reason: `the answer was cut at ${limit}`, usage };
    }
    return { outcome: 'Succeeded', text, reason: `finish_reason ${finish ?? 'stop'}`, usage };
  }

  /** The key never leaves in an output, a reason or a log line, even if a server echoes it. */
  private redact(text: string): string {
    if (this.apiKey === undefined || this.apiKey.length < MIN_SECRET_CHARS) return text;
    return text.split(this.apiKey).join('[redacted]');
  }
}

/** The answer as it arrives: kept whole, and passed on line by line. */
class Answer {
  private readonly parts: string[] = [];
  private readonly lines: LineSplitter;
  private ended = false;

  constructor(line: (text: string) => void) {
    this.lines = new LineSplitter(line);
  }

  add(text: string): void {
    if (text === '') return;
    this.parts.push(text);
    this.lines.push(Buffer.from(text, 'utf8'));
  }

  /** The whole text; the last line, unfinished, is passed on once. */
  end(): string {
    if (!this.ended) this.lines.end();
    this.ended = true;
    return this.parts.join('');
  }
}

/**
 * The task as one user message: its input, then the payload and the results of the
 * tasks it depends on, each under a short heading.
 */
export function userMessage(task: TaskInput): string {
  const parts: string[] = [];
  if (task.input !== undefined && task.input !== '') parts.push(task.input);
  if (task.payload !== undefined) parts.push(`Payload (JSON):\n${JSON.stringify(task.payload)}`);
  const deps = Object.entries(task.dependencies ?? {});
  if (deps.length > 0) {
    const results = deps.map(
      ([name, r]) => `--- ${name}${r.exitCode === undefined ? '' : ` (exit code ${r.exitCode})`}\n${r.output ?? ''}`,
    );
    parts.push(`Results of the tasks this one depends on:\n${results.join('\n')}`);
  }
  return parts.join('\n\n');
}
