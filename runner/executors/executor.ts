/**
 * The contract between the runner and the thing that actually does a Task's work.
 *
 * Executors never reject for anything the task did: a crash, a non-zero exit or an
 * unreachable agent server resolve with a Failed result. The `signal` passed to
 * `execute` aborts when the runner gives the task up (shutdown, lost assignment); the
 * executor then stops the work and resolves with outcome 'Cancelled'.
 */
export interface TaskInput {
  namespace: string;
  name: string;
  attempt: number;
  input?: string;
  payload?: Record<string, unknown>;
  /** Results of the tasks in spec.dependsOn (all Succeeded), by task name. */
  dependencies?: Record<string, { output?: string; exitCode?: number }>;
  timeoutSeconds: number;
}

export interface ExecutionResult {
  outcome: 'Succeeded' | 'Failed' | 'TimedOut' | 'Cancelled';
  exitCode?: number;
  /** At most OUTPUT_LIMIT_BYTES of UTF-8 (see truncateOutput). */
  output: string;
  /** A few words for status.history[].reason, e.g. "exit code 3: <last stderr line>". */
  reason: string;
  /** Tokens the attempt used and the context it left, when the agent reported them. */
  usage?: TokenUsage;
}

/** What an agent reports about its tokens; every field is optional. */
export interface TokenUsage {
  /** Tokens sent to the model (prompts), cached ones included. */
  inputTokens?: number;
  /** Tokens the model generated. */
  outputTokens?: number;
  /** Of inputTokens, those served from the endpoint's prompt cache. */
  cachedTokens?: number;
  /** Tokens in the agent's context window after the attempt (its conversation so far). */
  contextTokens?: number;
  /** The model that served the attempt: the key of the policy's price table. */
  model?: string;
}

/** What asking an agent to shrink its context came to. */
export interface CompactResult {
  outcome: 'Compacted' | 'Failed';
  reason: string;
  /** The agent's summary of its conversation: what `seed` takes after a recycle. */
  summary?: string;
  /** Tokens in the agent's context after compaction, when known. */
  contextTokens?: number;
}

export interface Executor {
  readonly name: 'command' | 'http' | 'model';
  execute(task: TaskInput, signal: AbortSignal): Promise<ExecutionResult>;
  /**
   * Asks the agent to summarise its conversation and continue from the summary. Absent
   * when the agent cannot compact itself (it is recycled instead). Never rejects.
   */
  compact?(signal: AbortSignal): Promise<CompactResult>;
  /** Starts the conversation from a summary saved before a recycle. */
  seed?(summary: string): void;
}

/**
 * Compaction runs like a task for the executors' line callbacks; attempt 0 tells it
 * apart, real attempts start at 1.
 */
export function compactionTask(input: string, timeoutSeconds: number): TaskInput {
  return { namespace: '', name: 'compaction', attempt: 0, input, timeoutSeconds };
}

export function isCompaction(task: TaskInput): boolean {
  return task.attempt === 0;
}

/** status.result.output is capped so a Task stays far below etcd's object size limit. */
export const OUTPUT_LIMIT_BYTES = 64 * 1024;

/** A reason goes into status.history, where a line is plenty. */
export const REASON_DETAIL_CHARS = 200;

/**
 * Keeps at most OUTPUT_LIMIT_BYTES of UTF-8, marker included, so the result always fits
 * status.result.output. When it cuts, it keeps the end: agents print their answer last.
 * `droppedBefore` counts bytes the caller already discarded (a bounded capture buffer),
 * so the marker reports the real total.
 */
export function truncateOutput(text: string, droppedBefore = 0): string {
  const bytes = Buffer.from(text, 'utf8');
  if (droppedBefore === 0 && bytes.length <= OUTPUT_LIMIT_BYTES) return text;
  // Sized for the largest count the marker can show, so the final marker never overflows.
  const budget = Buffer.byteLength(marker(droppedBefore + bytes.length));
  let start = Math.max(0, bytes.length - (OUTPUT_LIMIT_BYTES - budget));
  while (start < bytes.length && isContinuationByte(bytes[start] ?? 0)) start++;
  return marker(droppedBefore + start) + bytes.subarray(start).toString('utf8');
}

function marker(dropped: number): string {
  return `[output truncated: first ${dropped} bytes dropped]\n`;
}

/** 10xxxxxx: the middle of a multi-byte UTF-8 character. */
export function isContinuationByte(b: number): boolean {
  return (b & 0xc0) === 0x80;
}

/** The first REASON_DETAIL_CHARS characters, without splitting a surrogate pair. */
export function clip(text: string): string {
  return Array.from(text.slice(0, 2 * REASON_DETAIL_CHARS))
    .slice(0, REASON_DETAIL_CHARS)
    .join('');
}
