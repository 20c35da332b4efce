import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROGRESS_LINE_CHARS, PROGRESS_LINES, ProgressLines } from './progress.ts';

describe('ProgressLines', () => {
  it('keeps the last lines of each attempt and says when there is news', () => {
    const p = new ProgressLines();
    expect(p.since('a', 0)).toBeUndefined();
    p.push('a', 'one');
    p.push('b', 'other');
    p.push('a', 'two');
    const first = p.since('a', 0);
    expect(first).toEqual({ lines: ['one', 'two'], version: 2 });
    expect(p.since('a', 2)).toBeUndefined();
    p.push('a', 'three');
    expect(p.since('a', 2)?.lines).toEqual(['one', 'two', 'three']);
    p.forget('a');
    expect(p.since('a', 0)).toBeUndefined();
    expect(p.since('b', 0)?.lines).toEqual(['other']);
  });

  it('never holds more than the status can: the newest lines, each cut to its limit', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 700 }), { maxLength: 40 }), (lines) => {
        const p = new ProgressLines();
        for (const l of lines) p.push('k', l);
        const kept = p.since('k', 0)?.lines ?? [];
        expect(kept.length).toBe(Math.min(lines.length, PROGRESS_LINES));
        kept.forEach((l, i) => {
          expect(Array.from(l).length).toBeLessThanOrEqual(PROGRESS_LINE_CHARS);
          expect(lines[lines.length - kept.length + i]?.startsWith(l)).toBe(true);
        });
      }),
    );
  });
});
