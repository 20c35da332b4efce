import { describe, expect, it } from 'vitest';
import { rfc3339 } from './timestamp.ts';

describe('rfc3339', () => {
  it.each([
    [Date.parse('2026-11-30T10:00:00Z'), '2026-11-30T10:00:00Z'],
    [Date.parse('2026-11-30T10:00:00.999Z'), '2026-11-30T10:00:00Z'],
    [Date.parse('2026-12-31T23:59:59.001Z'), '2026-12-31T23:59:59Z'],
  ])('%d -> %s (milliseconds dropped, never rounded up)', (ms, text) => {
    expect(rfc3339(ms)).toBe(text);
  });
});
