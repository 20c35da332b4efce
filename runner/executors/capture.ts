import { StringDecoder } from 'node:string_decoder';
import { clip, isContinuationByte } from './executor.ts';

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
const USAGE_LINE = /^::agent-orchestrator::usage tokens=(\d+)$/;

/**
 * Reads stderr line by line, remembering the last line worth a failure reason and the
 * last usage report. It holds one line of at most LINE_CAP characters, never the stream.
 */
export class StderrScanner {
  /** The last non-empty line that is not a usage report, clipped for a reason. */
  lastLine = '';
  /** Tokens from the last usage report. */
  tokens: number | undefined;

  private readonly decoder = new StringDecoder('utf8');
  private line = '';
  private overflowed = false;

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
    const usage = overflowed ? null : USAGE_LINE.exec(line);
    const tokens = usage ? Number(usage[1]) : NaN;
    if (Number.isSafeInteger(tokens)) {
      this.tokens = tokens;
      return;
    }
    if (line.trim() !== '') this.lastLine = clip(line.trim());
  }
}
