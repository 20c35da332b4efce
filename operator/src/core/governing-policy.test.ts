import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { governingPolicy } from './governing-policy.ts';

describe('governingPolicy', () => {
  it.each([
    { name: 'none', policies: [], want: undefined },
    { name: 'one', policies: [{ name: 'a', createdAt: 5 }], want: 'a' },
    {
      name: 'the oldest',
      policies: [
        { name: 'new', createdAt: 9 },
        { name: 'old', createdAt: 1 },
      ],
      want: 'old',
    },
    {
      name: 'the first by name when created in the same second',
      policies: [
        { name: 'b', createdAt: 1 },
        { name: 'a', createdAt: 1 },
      ],
      want: 'a',
    },
  ])('$name', ({ policies, want }) => {
    expect(governingPolicy(policies)?.name).toBe(want);
  });

  it('does not depend on the order the cache lists them in', () => {
    const policies = fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-z]{1,4}$/), createdAt: fc.nat(5) }), {
      selector: (p) => p.name,
      minLength: 1,
    });
    fc.assert(
      fc.property(policies, (list) => {
        const winner = governingPolicy(list);
        expect(governingPolicy([...list].reverse())).toBe(winner);
        for (const p of list) expect(p.createdAt).toBeGreaterThanOrEqual(winner?.createdAt ?? Infinity);
      }),
    );
  });
});
