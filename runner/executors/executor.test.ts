import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OUTPUT_LIMIT_BYTES, clip, truncateOutput } from './executor.ts';

const MARKER = /^\[output truncated: first (\d+) bytes dropped\]\n/;
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The marker's count and what follows it; undefined when nothing was cut. */
function split(result: string): { dropped: number; rest: string } | undefined {
  const m = MARKER.exec(result);
  return m ? { dropped: Number(m[1]), rest: result.slice(m[0].length) } : undefined;
}

describe('truncateOutput', () => {
  it.each([
    { name: 'empty', text: '' },
    { name: 'short', text: 'hello\nworld' },
    { name: 'exactly the limit', text: 'a'.repeat(OUTPUT_LIMIT_BYTES) },
    { name: 'multi-byte at the limit', text: 'é'.repeat(OUTPUT_LIMIT_BYTES / 2) },
  ])('keeps $name unchanged', ({ text }) => {
    expect(truncateOutput(text)).toBe(text);
  });

  it.each([
    { name: 'one byte over', text: 'a'.repeat(OUTPUT_LIMIT_BYTES) + 'Z' },
    { name: 'two-byte characters', text: 'é'.repeat(OUTPUT_LIMIT_BYTES) + 'END' },
    { name: 'three-byte characters', text: '€'.repeat(OUTPUT_LIMIT_BYTES) + 'END' },
    { name: 'astral characters', text: '😀'.repeat(OUTPUT_LIMIT_BYTES / 2) + 'END' },
    { name: 'one megabyte', text: 'x'.repeat(1 << 20) + '\nanswer: 42\n' },
  ])('cuts $name to the limit, keeping the end', ({ text }) => {
    const result = truncateOutput(text);
    const cut = split(result);
    expect(cut).toBeDefined();
    expect(bytes(result)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(bytes(result)).toBeGreaterThan(OUTPUT_LIMIT_BYTES - 64);
    expect(result.isWellFormed()).toBe(true);
    expect(result).not.toContain('\uFFFD');
    expect(text.endsWith(cut?.rest ?? '?')).toBe(true);
    expect((cut?.dropped ?? 0) + bytes(cut?.rest ?? '')).toBe(bytes(text));
  });

  it('counts bytes the caller dropped already', () => {
    expect(truncateOutput('abc', 10)).toBe('[output truncated: first 10 bytes dropped]\nabc');
    const result = truncateOutput('a'.repeat(OUTPUT_LIMIT_BYTES * 2), 1000);
    expect(bytes(result)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(split(result)?.dropped).toBe(1000 + OUTPUT_LIMIT_BYTES * 2 - bytes(split(result)?.rest ?? ''));
  });

  it('stays within the limit, well-formed, and keeps the longest fitting tail', () => {
    // Padding just under the limit puts the cut anywhere in the multi-byte head, or nowhere.
    const unicode = fc.string({ unit: 'binary', maxLength: 100 });
    const head = fc.string({ unit: 'binary', minLength: 20, maxLength: 100 });
    const text = fc
      .tuple(head, fc.integer({ min: OUTPUT_LIMIT_BYTES - 200, max: OUTPUT_LIMIT_BYTES }), unicode)
      .map(([head, pad, tail]) => head + 'p'.repeat(pad) + tail);
    fc.assert(
      fc.property(text, (text) => {
        const result = truncateOutput(text);
        expect(bytes(result)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
        expect(result.isWellFormed()).toBe(true);
        const cut = split(result);
        if (bytes(text) <= OUTPUT_LIMIT_BYTES) {
          expect(result).toBe(text);
          return;
        }
        expect(cut).toBeDefined();
        const rest = cut?.rest ?? '';
        expect(text.endsWith(rest)).toBe(true);
        expect((cut?.dropped ?? 0) + bytes(rest)).toBe(bytes(text));
        // Short of the limit by at most a partial character (3 bytes) and the digits the
        // marker reserved for the total but did not need for the dropped count (4).
        expect(bytes(result)).toBeGreaterThanOrEqual(OUTPUT_LIMIT_BYTES - 7);
      }),
      { numRuns: 200 },
    );
  });
});

describe('clip', () => {
  it('keeps the first 200 characters without splitting a surrogate pair', () => {
    expect(clip('short')).toBe('short');
    expect(clip('a'.repeat(500))).toBe('a'.repeat(200));
    const clipped = clip('😀'.repeat(300));
    expect(Array.from(clipped)).toHaveLength(200);
    expect(clipped.isWellFormed()).toBe(true);
  });
});
