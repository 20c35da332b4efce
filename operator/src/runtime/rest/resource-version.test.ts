import { describe, expect, it } from 'vitest';
import { atLeast } from './resource-version.ts';

describe('the host expects its write, or a later one', () => {
  it.each([
    ['the version written', '120', '120', true],
    ['a later write by another controller', '121', '120', true],
    ['a later one with more digits', '1000', '999', true],
    ['an older one', '119', '120', false],
    ['an older one with fewer digits', '99', '120', false],
    ['nothing yet', undefined, '120', false],
    ['versions that are not numbers: only the same', 'abc', 'abd', false],
    ['versions that are not numbers, the same', 'abc', 'abc', true],
  ] as [string, string | undefined, string, boolean][])('%s', (_case, seen, written, met) => {
    expect(atLeast(seen, written)).toBe(met);
  });
});
