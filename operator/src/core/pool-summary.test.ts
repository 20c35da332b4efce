import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SUMMARY_MAX, poolSummary } from './pool-summary.ts';

const pool = (name: string, current = 1, desired = 2): { name: string; current: number; desired: number } => ({ name, current, desired });

describe('poolSummary', () => {
  it.each([
    ['no pools', [], 100, ''],
    ['pools that fit', [pool('a'), pool('b', 0, 0)], 100, 'a 1/2, b 0/0'],
    ['pools that do not: the rest are counted', [pool('aaaa'), pool('bbbb'), pool('cccc')], 26, 'aaaa 1/2, … (2 more)'],
    ['not even one fits: only the count', [pool('a'.repeat(40))], 20, '… (1 more)'],
  ])('%s', (_what, pools, max, want) => {
    expect(poolSummary(pools, max)).toBe(want);
  });

  it('stays within the schema’s bound for the largest policy (32 pools of 63-character names, 1000/1000)', () => {
    const pools = Array.from({ length: 32 }, (_, i) => pool(`${'p'.repeat(60)}-${String(i).padStart(2, '0')}`, 1000, 1000));
    const line = poolSummary(pools);
    expect(line.length).toBeLessThanOrEqual(SUMMARY_MAX);
    expect(line).toMatch(/… \(\d+ more\)$/);
  });

  it('never passes the bound, and shows every pool when they fit', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    const pools = fc.array(fc.record({ name, current: fc.nat(1000), desired: fc.nat(1000) }), { maxLength: 32 });
    fc.assert(
      fc.property(pools, fc.integer({ min: 10, max: 2000 }), (ps, max) => {
        const line = poolSummary(ps, max);
        const whole = ps.map((p) => `${p.name} ${p.current}/${p.desired}`).join(', ');
        return line.length <= max && (whole.length > max || line === whole);
      }),
    );
  });
});
