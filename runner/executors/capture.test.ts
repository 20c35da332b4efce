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

  const report = '::agent-orchestrator::usage';
  it.each([
    { name: 'no output', chunks: [], lastLine: '', usage: undefined },
    { name: 'the last non-empty line', chunks: ['one\ntwo\n\n  \n'], lastLine: 'two', usage: undefined },
    { name: 'a line without a newline', chunks: ['one\ntwo'], lastLine: 'two', usage: undefined },
    { name: 'a line split across chunks', chunks: ['er', 'ror: x', '\r\n'], lastLine: 'error: x', usage: undefined },
    {
      name: 'the last usage report',
      chunks: [`${report} tokens=10\nfail\n${report} tokens=25\n`],
      lastLine: 'fail',
      usage: { contextTokens: 25 },
    },
    {
      name: 'a usage report split across chunks',
      chunks: ['::agent-orchestrator::us', 'age tokens=7'],
      lastLine: '',
      usage: { contextTokens: 7 },
    },
    {
      name: 'every field, in any order',
      chunks: [`${report} model=meta-llama/Llama-3.1-8B cached=30 output=20 tokens=900 input=100\n`],
      lastLine: '',
      usage: { inputTokens: 100, outputTokens: 20, cachedTokens: 30, contextTokens: 900, model: 'meta-llama/Llama-3.1-8B' },
    },
    {
      name: 'counts summed over the lines, tokens and model from the last that says',
      chunks: [`${report} input=100 output=10 tokens=110 model=a\n${report} input=50 cached=40 model=qwen2.5:7b\n${report} output=5\n`],
      lastLine: '',
      usage: { inputTokens: 150, outputTokens: 15, cachedTokens: 40, contextTokens: 110, model: 'qwen2.5:7b' },
    },
    { name: 'a report without tokens', chunks: [`${report} input=3\n`], lastLine: '', usage: { inputTokens: 3 } },
    {
      name: 'near misses of the usage format',
      chunks: [` ${report} tokens=1\n${report} tokens=1x\n`],
      lastLine: `${report} tokens=1x`,
      usage: undefined,
    },
    { name: 'a report without fields', chunks: [`${report}\n${report} \n`], lastLine: report, usage: undefined },
    { name: 'an unknown key', chunks: [`${report} tokens=5 price=3\n`], lastLine: `${report} tokens=5 price=3`, usage: undefined },
    { name: 'a key given twice', chunks: [`${report} input=1 input=2\n`], lastLine: `${report} input=1 input=2`, usage: undefined },
    { name: 'a field without a value', chunks: [`${report} input= model=x\n`], lastLine: `${report} input= model=x`, usage: undefined },
    { name: 'a negative count', chunks: [`${report} output=-4\n`], lastLine: `${report} output=-4`, usage: undefined },
    { name: 'an empty model', chunks: [`${report} model=\n`], lastLine: `${report} model=`, usage: undefined },
    {
      name: 'unsafe token counts',
      chunks: [`${report} tokens=${'9'.repeat(30)}`],
      lastLine: `${report} tokens=${'9'.repeat(30)}`,
      usage: undefined,
    },
  ])('finds $name', ({ chunks, lastLine, usage }) => {
    const scanner = scan(...chunks);
    expect(scanner.lastLine).toBe(lastLine);
    expect(scanner.usage).toEqual(usage);
  });

  it('decodes characters split across chunks', () => {
    const euro = Buffer.from('€', 'utf8');
    expect(scan(Buffer.from('x'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\n')).lastLine).toBe('x€');
  });

  it('clips long lines and ignores a usage report past the line cap', () => {
    expect(scan('e'.repeat(10_000)).lastLine).toBe('e'.repeat(200));
    const scanner = scan(`::agent-orchestrator::usage tokens=${'1'.repeat(5000)}`);
    expect(scanner.usage).toBeUndefined();
  });
});
