import { StringDecoder } from 'node:string_decoder';

/**
 * Server-sent events (the WHATWG `text/event-stream` format) as far as chat completion
 * streams use it: each event's data, its `data:` lines joined by newlines. Comments
 * (`: ping`) and the other fields (event, id, retry) are skipped. A stream that ends
 * without the blank line closing its last event still delivers that event.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private data: string[] = [];
  private readonly event: (data: string) => void;

  constructor(event: (data: string) => void) {
    this.event = event;
  }

  push(chunk: Uint8Array): void {
    this.take(this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  end(): void {
    this.take(this.decoder.end());
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.dispatch();
  }

  private take(text: string): void {
    let rest = this.partial + text;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      this.line(rest.slice(0, nl).replace(/\r$/, ''));
      rest = rest.slice(nl + 1);
    }
    this.partial = rest;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    const value = colon < 0 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }

  private dispatch(): void {
    if (this.data.length === 0) return;
    const data = this.data.join('\n');
    this.data = [];
    this.event(data);
  }
}
