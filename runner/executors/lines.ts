import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is passed on in pieces: one line of output never holds the runner's memory. */
export const MAX_LINE_CHARS = 8192;

/**
 * Splits a byte stream into lines (UTF-8, a character split across chunks kept whole),
 * calling `line` for each complete one and, at `end`, for what is left.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private readonly line: (text: string) => void;

  constructor(line: (text: string) => void) {
    this.line = line;
  }

  push(chunk: Buffer): void {
    this.take(this.decoder.write(chunk));
  }

  end(): void {
    this.take(this.decoder.end());
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private take(text: string): void {
    let rest = this.partial + text;
    let nl = rest.indexOf('\n');
    while (nl >= 0) {
      this.line(rest.slice(0, nl).replace(/\r$/, ''));
      rest = rest.slice(nl + 1);
      nl = rest.indexOf('\n');
    }
    while (rest.length > MAX_LINE_CHARS) {
      this.line(rest.slice(0, MAX_LINE_CHARS));
      rest = rest.slice(MAX_LINE_CHARS);
    }
    this.partial = rest;
  }
}
