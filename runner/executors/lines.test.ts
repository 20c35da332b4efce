import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_CHARS } from './lines.ts';

function split(chunks: (string | Buffer)[]): string[] {
  const lines: string[] = [];
  const s = new LineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(typeof c === 'string' ? Buffer.from(c) : c);
  s.end();
  return lines;
}

describe('LineSplitter', () => {
  it.each([
    ['lines in one chunk', ['a\nb\n'], ['a', 'b']],
    ['a line across chunks', ['hel', 'lo\nwor', 'ld'], ['hello', 'world']],
    ['CRLF endings', ['a\r\nb\r\n'], ['a', 'b']],
    ['empty lines kept', ['\n\nx\n'], ['', '', 'x']],
    ['nothing', [], []],
  ] as [string, string[], string[]][])('%s', (_name, chunks, lines) => {
    expect(split(chunks)).toEqual(lines);
  });

  it('keeps a character split between chunks whole', () => {
    const bytes = Buffer.from('wörld\n');
    expect(split([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(['wörld']);
  });

  it('passes a very long line on in pieces instead of holding it', () => {
    const lines = split(['x'.repeat(MAX_LINE_CHARS * 2 + 5)]);
    expect(lines.map((l) => l.length)).toEqual([MAX_LINE_CHARS, MAX_LINE_CHARS, 5]);
  });
});
