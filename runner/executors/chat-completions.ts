/**
 * The OpenAI chat completions wire format (POST {base}/chat/completions), as vLLM,
 * llama.cpp's server, Ollama and the hosted APIs speak it. Pure: reads what a server
 * sent, checking each field it uses, and ignores the rest.
 */
import type { TokenUsage } from './executor.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** What one stream chunk, or a whole non-streaming answer, says. */
export interface Reading {
  /** Text generated (a delta when streaming). */
  content: string;
  /** `stop`, `length`, `content_filter`, ... once the model is done. */
  finishReason?: string;
  /** The counts of the call; streams send them in the last chunk (stream_options.include_usage). */
  usage?: CallUsage;
  model?: string;
  /** The message of an error the server sent instead of an answer. */
  error?: string;
}

export interface CallUsage {
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
}

/** A stream chunk: `choices[0].delta.content`. */
export function readChunk(json: unknown): Reading {
  return read(json, 'delta');
}

/** A non-streaming answer: `choices[0].message.content`. */
export function readCompletion(json: unknown): Reading {
  return read(json, 'message');
}

function read(json: unknown, part: 'delta' | 'message'): Reading {
  const body = record(json);
  if (body === undefined) return { content: '', error: 'expected a JSON object' };
  const error = errorIn(body);
  if (error !== undefined) return { content: '', error };
  const choice = record(Array.isArray(body.choices) ? (body.choices as unknown[])[0] : undefined);
  const content = record(choice?.[part])?.content;
  const finishReason = choice?.finish_reason;
  const usage = usageOf(body.usage);
  return {
    content: typeof content === 'string' ? content : '',
    ...(typeof finishReason === 'string' && finishReason !== '' ? { finishReason } : {}),
    ...(usage ? { usage } : {}),
    ...(typeof body.model === 'string' && body.model !== '' ? { model: body.model } : {}),
  };
}

function usageOf(json: unknown): CallUsage | undefined {
  const u = record(json);
  if (u === undefined) return undefined;
  const count = (v: unknown): number | undefined => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  const promptTokens = count(u.prompt_tokens);
  const completionTokens = count(u.completion_tokens);
  const cachedTokens = count(record(u.prompt_tokens_details)?.cached_tokens);
  return {
    ...(promptTokens === undefined ? {} : { promptTokens }),
    ...(completionTokens === undefined ? {} : { completionTokens }),
    ...(cachedTokens === undefined ? {} : { cachedTokens }),
  };
}

/**
 * A call's TokenUsage: the prompt and completion counts, and as context what the
 * conversation holds after the call (the prompt it sent plus the answer it got).
 */
export function tokenUsage(usage: CallUsage | undefined, model: string): TokenUsage {
  const u = usage ?? {};
  return {
    ...(u.promptTokens === undefined ? {} : { inputTokens: u.promptTokens }),
    ...(u.completionTokens === undefined ? {} : { outputTokens: u.completionTokens }),
    ...(u.cachedTokens === undefined ? {} : { cachedTokens: u.cachedTokens }),
    ...(u.promptTokens === undefined || u.completionTokens === undefined ? {} : { contextTokens: u.promptTokens + u.completionTokens }),
    model,
  };
}

/**
 * The message in an error body: OpenAI's `{error: {message}}`, `{error: "..."}` (Ollama,
 * llama.cpp variants), vLLM's `{object: "error", message}`; else the text itself.
 */
export function errorMessage(text: string): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return text.trim();
  }
  const body = record(json);
  return (body && errorIn(body)) ?? text.trim();
}

function errorIn(body: Record<string, unknown>): string | undefined {
  const error = body.error;
  if (typeof error === 'string' && error !== '') return error;
  const message = record(error)?.message;
  if (typeof message === 'string' && message !== '') return message;
  if (body.object === 'error' && typeof body.message === 'string') return body.message;
  return undefined;
}

/** Retry-After as milliseconds from `now`: delay-seconds or an HTTP date; undefined if absent or unreadable. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // An HTTP date names its day and month; Date.parse alone would take '-3' for a year.
  const at = /[a-z]{3}/i.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
