import { StringDecoder } from 'node:string_decoder';
import { clip, isContinuationByte, type TokenUsage } from './executor.ts';

/**
 * Keeps the last `cap` bytes of a stream while holding at most about twice that, so a
 * command printing gigabytes costs the runner a bounded amount of memory.
 */
export class TailBuffer {
  private readonly cap: number;
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(cap: number) {
    this.cap = cap;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Compacting only past twice the cap keeps the copying linear in the stream's size.
    if (this.size > 2 * this.cap) this.compact();
  }

  /** The kept tail, decoded, and how many bytes before it were dropped. */
  text(): { text: string; dropped: number } {
    this.compact();
    let bytes = Buffer.concat(this.chunks, this.size);
    let dropped = this.dropped;
    if (dropped > 0) {
      // The cut may have landed inside a character; its orphaned tail is noise.
      let i = 0;
      while (i < bytes.length && isContinuationByte(bytes[i] ?? 0)) i++;
      bytes = bytes.subarray(i);
      dropped += i;
    }
    return { text: new TextDecoder().decode(bytes), dropped };
  }

  private compact(): void {
    if (this.size <= this.cap) return;
    const all = Buffer.concat(this.chunks, this.size);
    // A copy, so the large concatenation is not pinned by a view into it.
    const tail = Buffer.from(all.subarray(all.length - this.cap));
    this.dropped += all.length - this.cap;
    this.chunks = [tail];
    this.size = tail.length;
  }
}

const LINE_CAP = 4096;
const USAGE_PREFIX = '::agent-orchestrator::usage ';
const COUNT_FIELDS = { tokens: 'contextTokens', input: 'inputTokens', output: 'outputTokens', cached: 'cachedTokens' } as const;
/** A price-table key: printable ASCII without spaces (`gpt-4o`, `meta-llama/Llama-3.1-8B`, `qwen2.5:7b`). */
const MODEL_NAME = /^[\x21-\x7e]{1,200}$/;

/**
 * One usage report line: `::agent-orchestrator::usage` and at least one of `tokens=<n>`
 * (the context in use), `input=<n>`, `output=<n>`, `cached=<n>`, `model=<name>`, in any
 * order, each at most once. Anything else (an unknown key, a count that is not a safe
 * whole number) makes the line an ordinary stderr line: undefined.
 */
export function parseUsageLine(line: string): TokenUsage | undefined {
  if (!line.startsWith(USAGE_PREFIX)) return undefined;
  const fields = line
    .slice(USAGE_PREFIX.length)
    .split(' ')
    .filter((f) => f !== '');
  const usage: TokenUsage = {};
  const seen = new Set<string>();
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (eq <= 0 || seen.has(key)) return undefined;
    seen.add(key);
    if (key === 'model') {
      if (!MODEL_NAME.test(value)) return undefined;
      usage.model = value;
    } else if (Object.hasOwn(COUNT_FIELDS, key)) {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n)) return undefined;
      usage[COUNT_FIELDS[key as keyof typeof COUNT_FIELDS]] = n;
    } else {
      return undefined;
    }
  }
  return seen.size > 0 ? usage : undefined;
}

/**
 * Folds the usage reports of one attempt. An agent making several model calls per task
 * may report after each: the tokens each call sent, generated and read from the cache add
 * up, while the context in use (`tokens`) and the model are what the last report says.
 */
export class UsageTally {
  private total: TokenUsage | undefined;

  add(report: TokenUsage): void {
    const t: TokenUsage = { ...this.total };
    for (const key of ['inputTokens', 'outputTokens', 'cachedTokens'] as const) {
      const n = report[key];
      if (n !== undefined) t[key] = Math.min(Number.MAX_SAFE_INTEGER, (t[key] ?? 0) + n);
    }
    if (report.contextTokens !== undefined) t.contextTokens = report.contextTokens;
    if (report.model !== undefined) t.model = report.model;
    this.total = t;
  }

  /** Undefined when nothing was reported. */
  get usage(): TokenUsage | undefined {
    return this.total;
  }
}

/**
 * Reads stderr line by line, remembering the last line worth a failure reason and the
 * usage reports. It holds one line of at most LINE_CAP characters, never the stream.
 */
export class StderrScanner {
  /** The last non-empty line that is not a usage report, clipped for a reason. */
  lastLine = '';

  private readonly tally = new UsageTally();
  private readonly decoder = new StringDecoder('utf8');
  private line = '';
  private overflowed = false;

  /** What the usage reports add up to (see UsageTally); undefined without one. */
  get usage(): TokenUsage | undefined {
    return this.tally.usage;
  }

  push(chunk: Buffer): void {
    this.scan(this.decoder.write(chunk));
  }

  end(): void {
    this.scan(this.decoder.end());
    this.endLine();
  }

  private scan(text: string): void {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      this.append(text.slice(from, nl));
      this.endLine();
      from = nl + 1;
    }
    this.append(text.slice(from));
  }

  private append(text: string): void {
    const room = LINE_CAP - this.line.length;
    if (text.length > room) this.overflowed = true;
    if (room > 0) this.line += text.slice(0, room);
  }

  private endLine(): void {
    const line = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
    const overflowed = this.overflowed;
    this.line = '';
    this.overflowed = false;
    const report = overflowed ? undefined : parseUsageLine(line);
    if (report) {
      this.tally.add(report);
      return;
    }
    if (line.trim() !== '') this.lastLine = clip(line.trim());
  }
}
