import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.ts';

function events(...chunks: string[]): string[] {
  const out: string[] = [];
  const parser = new SseParser((data) => out.push(data));
  for (const chunk of chunks) parser.push(Buffer.from(chunk, 'utf8'));
  parser.end();
  return out;
}

describe('SseParser', () => {
  it.each([
    { name: 'one event per blank line', chunks: ['data: {"a":1}\n\ndata: [DONE]\n\n'], events: ['{"a":1}', '[DONE]'] },
    { name: 'CRLF line ends', chunks: ['data: x\r\n\r\ndata: y\r\n\r\n'], events: ['x', 'y'] },
    { name: 'a line split across chunks', chunks: ['da', 'ta: he', 'llo\n', '\n'], events: ['hello'] },
    { name: 'several data lines joined', chunks: ['data: a\ndata: b\n\n'], events: ['a\nb'] },
    { name: 'no space after the colon', chunks: ['data:x\n\n'], events: ['x'] },
    { name: 'comments and other fields skipped', chunks: [': ping\nevent: message\nid: 3\nretry: 10\ndata: x\n\n'], events: ['x'] },
    { name: 'an event without data skipped', chunks: ['event: ping\n\n'], events: [] },
    { name: 'a last event without its blank line', chunks: ['data: x\n\ndata: y'], events: ['x', 'y'] },
  ])('reads $name', ({ chunks, events: expected }) => {
    expect(events(...chunks)).toEqual(expected);
  });

  it('keeps a character split across chunks whole', () => {
    const bytes = Buffer.from('data: €\n\n', 'utf8');
    const out: string[] = [];
    const parser = new SseParser((d) => out.push(d));
    parser.push(bytes.subarray(0, 7));
    parser.push(bytes.subarray(7));
    parser.end();
    expect(out).toEqual(['€']);
  });

  it('reads the same events however the stream is cut', () => {
    const payload = fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ''));
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 6 }), (datas, cuts) => {
        const text = datas.map((d) => `data: ${d}\n\n`).join('');
        const bytes = Buffer.from(text, 'utf8');
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const out: string[] = [];
        const parser = new SseParser((d) => out.push(d));
        let from = 0;
        for (const to of [...at, bytes.length]) {
          parser.push(bytes.subarray(from, to));
          from = to;
        }
        parser.end();
        expect(out).toEqual(datas);
      }),
    );
  });
});
