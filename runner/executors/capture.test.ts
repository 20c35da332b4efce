import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StderrScanner, TailBuffer } from './capture.ts';

describe('TailBuffer', () => {
  it('keeps the last cap bytes and counts the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 })), fc.integer({ min: 1, max: 64 }), (chunks, cap) => {
        const buffer = new TailBuffer(cap);
        for (const chunk of chunks) buffer.push(Buffer.from(chunk, 'latin1'));
        const all = Buffer.from(chunks.join(''), 'latin1');
        const { text, dropped } = buffer.text();
        expect(text).toBe(all.subarray(Math.max(0, all.length - cap)).toString('utf8'));
        expect(dropped).toBe(Math.max(0, all.length - cap));
      }),
    );
  });

  it('drops a character the cut landed in', () => {
    const buffer = new TailBuffer(4);
    buffer.push(Buffer.from('ab€€', 'utf8')); // 8 bytes; the last 4 start inside the first €
    expect(buffer.text()).toEqual({ text: '€', dropped: 5 });
  });
});

describe('StderrScanner', () => {
  function scan(...chunks: (string | Buffer)[]): StderrScanner {
    const scanner = new StderrScanner();
    for (const chunk of chunks) scanner.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    scanner.end();
    return scanner;
  }

  it.each([
    { name: 'no output', chunks: [], lastLine: '', tokens: undefined },
    { name: 'the last non-empty line', chunks: ['one\ntwo\n\n  \n'], lastLine: 'two', tokens: undefined },
    { name: 'a line without a newline', chunks: ['one\ntwo'], lastLine: 'two', tokens: undefined },
    { name: 'a line split across chunks', chunks: ['er', 'ror: x', '\r\n'], lastLine: 'error: x', tokens: undefined },
    {
      name: 'the last usage report',
      chunks: ['::agent-orchestrator::usage tokens=10\nfail\n::agent-orchestrator::usage tokens=25\n'],
      lastLine: 'fail',
      tokens: 25,
    },
    { name: 'a usage report split across chunks', chunks: ['::agent-orchestrator::us', 'age tokens=7'], lastLine: '', tokens: 7 },
    {
      name: 'near misses of the usage format',
      chunks: [' ::agent-orchestrator::usage tokens=1\n::agent-orchestrator::usage tokens=1x\n'],
      lastLine: '::agent-orchestrator::usage tokens=1x',
      tokens: undefined,
    },
    { name: 'unsafe token counts', chunks: [`::agent-orchestrator::usage tokens=${'9'.repeat(30)}`], lastLine: `::agent-orchestrator::usage tokens=${'9'.repeat(30)}`, tokens: undefined },
  ])('finds $name', ({ chunks, lastLine, tokens }) => {
    const scanner = scan(...chunks);
    expect(scanner.lastLine).toBe(lastLine);
    expect(scanner.tokens).toBe(tokens);
  });

  it('decodes characters split across chunks', () => {
    const euro = Buffer.from('€', 'utf8');
    expect(scan(Buffer.from('x'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\n')).lastLine).toBe('x€');
  });

  it('clips long lines and ignores a usage report past the line cap', () => {
    expect(scan('e'.repeat(10_000)).lastLine).toBe('e'.repeat(200));
    const scanner = scan(`::agent-orchestrator::usage tokens=${'1'.repeat(5000)}`);
    expect(scanner.tokens).toBeUndefined();
  });
});
