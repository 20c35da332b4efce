/**
 * Hands each Task to an agent server in the same pod or container, over HTTP.
 *
 * Request: `POST <url>` with JSON `{ namespace, name, attempt, input?, payload?, dependencies? }`
 * (dependencies: each spec.dependsOn task's name → its result `{ output, exitCode }`).
 * Response: 2xx with JSON `{ output?: string; succeeded?: boolean (default true);
 * exitCode?: number; usage?: Usage }` (an empty body counts as `{}`), where Usage is
 * `{ tokens?, inputTokens?, outputTokens?, cachedTokens?: number; model?: string }`:
 * tokens is the context in use after the task, the others what the task consumed and the
 * model that served it. Keys of usage this runner does not know are ignored.
 * Anything else is a failure. The exchange, body included, must finish within the task's
 * timeoutSeconds; on timeout or cancellation the connection is closed, which is the
 * server's cue to stop working on the task.
 *
 * Only loopback URLs are accepted: the task's input and payload go to the agent server
 * in the clear, and that server belongs next to the runner, not across the network.
 */
import { isIP } from 'node:net';
import { isAborted, systemClock, type Clock } from '../../operator/src/runtime/clock.ts';
import { describeFetchError, readBody } from './fetching.ts';
import { clip, truncateOutput, type ExecutionResult, type Executor, type TaskInput, type TokenUsage } from './executor.ts';

export interface HttpExecutorOptions {
  /** The agent server, e.g. http://127.0.0.1:8000/tasks. */
  url: string;
  /** Drives the deadline. */
  clock?: Clock;
}

/** Far above any useful output (it is cut to 64 KiB anyway), far below trouble for the runner. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Enough of an error body for a reason. */
const MAX_ERROR_BYTES = 4096;

interface ResponseBody {
  output?: string;
  succeeded?: boolean;
  exitCode?: number;
  usage?: TokenUsage;
}

/** The fields of a response's usage and where each lands in TokenUsage. */
const USAGE_COUNTS = {
  tokens: 'contextTokens',
  inputTokens: 'inputTokens',
  outputTokens: 'outputTokens',
  cachedTokens: 'cachedTokens',
} as const;

/** The response's usage, checked: a TokenUsage (undefined when empty) or the first problem. */
function usageOf(usage: unknown): TokenUsage | undefined | string {
  if (usage === undefined) return undefined;
  if (usage === null || typeof usage !== 'object' || Array.isArray(usage)) return 'usage: expected an object';
  const u = usage as Record<string, unknown>;
  const out: TokenUsage = {};
  for (const [field, key] of Object.entries(USAGE_COUNTS)) {
    const v = u[field];
    if (v === undefined) continue;
    if (!isIntIn(v, 0, Number.MAX_SAFE_INTEGER)) return `usage.${field}: expected a whole number, 0 or more`;
    out[key] = v as number;
  }
  if (u.model !== undefined) {
    if (typeof u.model !== 'string' || u.model === '' || u.model.length > 200)
      return 'usage.model: expected a model name (a string of 1 to 200 characters)';
    out.model = u.model;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The agent server's answer, checked field by field: the body or the first problem found. */
function responseBody(json: unknown): ResponseBody | string {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return 'expected a JSON object';
  const b = json as Record<string, unknown>;
  if (b.output !== undefined && typeof b.output !== 'string') return 'output: expected a string';
  if (b.succeeded !== undefined && typeof b.succeeded !== 'boolean') return 'succeeded: expected true or false';
  // The range status.result.exitCode accepts.
  if (b.exitCode !== undefined && !isIntIn(b.exitCode, -1024, 1024)) return 'exitCode: expected a whole number from -1024 to 1024';
  const usage = usageOf(b.usage);
  if (typeof usage === 'string') return usage;
  const { usage: _raw, ...rest } = b;
  return { ...rest, ...(usage === undefined ? {} : { usage }) };
}

const isIntIn = (v: unknown, min: number, max: number): boolean => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

export class HttpExecutor implements Executor {
  readonly name = 'http';
  private readonly url: URL;
  private readonly clock: Clock;

  constructor(options: HttpExecutorOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`agent server URL ${options.url} must be http or https`);
    }
    if (!isLoopback(url.hostname)) {
      throw new Error(
        `agent server URL ${options.url} is not a loopback address: the agent server must run in the same pod or container (127.0.0.1, ::1 or localhost)`,
      );
    }
    this.url = url;
    this.clock = options.clock ?? systemClock;
  }

  async execute(task: TaskInput, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return { outcome: 'Cancelled', output: '', reason: 'cancelled before it started' };
    const deadline = new AbortController();
    const cancelDeadline = this.clock.setTimer(task.timeoutSeconds * 1000, () => {
      deadline.abort();
    });
    const { namespace, name, attempt, input, payload, dependencies } = task;
    let step = `cannot reach the agent server at ${this.url.href}`;
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace, name, attempt, input, payload, dependencies }),
        signal: AbortSignal.any([signal, deadline.signal]),
        // A redirect could lead off the loopback interface.
        redirect: 'error',
      });
      step = `reading the response from ${this.url.href} failed`;
      if (!res.ok) {
        const { text } = await readBody(res, MAX_ERROR_BYTES);
        return { outcome: 'Failed', output: '', reason: `HTTP ${res.status}: ${clip(text.trim())}` };
      }
      const { text, complete } = await readBody(res, MAX_RESPONSE_BYTES);
      if (!complete) return failed(`the response from ${this.url.href} is larger than ${MAX_RESPONSE_BYTES} bytes`);
      return toResult(res.status, text);
    } catch (err) {
      if (isAborted(signal)) return { outcome: 'Cancelled', output: '', reason: 'cancelled by the runner' };
      if (deadline.signal.aborted) {
        return { outcome: 'TimedOut', output: '', reason: `timed out after ${task.timeoutSeconds}s` };
      }
      return failed(`${step}: ${describeFetchError(err)}`);
    } finally {
      cancelDeadline();
    }
  }
}

function toResult(status: number, text: string): ExecutionResult {
  let json: unknown;
  try {
    json = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return failed(`invalid response from the agent server: not JSON: ${clip(text.trim())}`);
  }
  const body = responseBody(json);
  if (typeof body === 'string') return failed(`invalid response from the agent server: ${body}`);
  const output = truncateOutput(body.output ?? '');
  const extras = {
    ...(body.exitCode === undefined ? {} : { exitCode: body.exitCode }),
    ...(body.usage === undefined ? {} : { usage: body.usage }),
  };
  if (body.succeeded ?? true) return { outcome: 'Succeeded', output, reason: `HTTP ${status}`, ...extras };
  const code = body.exitCode === undefined ? '' : ` (exit code ${body.exitCode})`;
  return { outcome: 'Failed', output, reason: `the agent reported failure${code}`, ...extras };
}

function failed(reason: string): ExecutionResult {
  return { outcome: 'Failed', output: '', reason };
}

/** 127.0.0.0/8, ::1 or localhost; WHATWG URL parsing has already normalised the spelling. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return isIP(host) === 6 && host === '::1';
}
