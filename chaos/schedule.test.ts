import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS, faultCounts, planFaults, prng } from './schedule.ts';

const base = { durationS: 600, bounded: false, heartbeatTimeoutS: 10, quietS: 30 };

describe('planFaults', () => {
  it('replays: the same seed gives the same schedule, another seed another', () => {
    expect(planFaults({ ...base, seed: 7 })).toEqual(planFaults({ ...base, seed: 7 }));
    expect(planFaults({ ...base, seed: 7 })).not.toEqual(planFaults({ ...base, seed: 8 }));
  });

  it('the long form kills the operator five times and has every fault; the bounded form one of each', () => {
    const long = planFaults({ ...base, seed: 1 });
    expect(long.filter((f) => f.kind === 'operator-kill')).toHaveLength(5);
    expect(new Set(long.map((f) => f.kind))).toEqual(new Set(FAULT_KINDS));
    const bounded = planFaults({ ...base, seed: 1, bounded: true, durationS: 240 });
    expect(bounded.map((f) => f.kind).sort()).toEqual([...FAULT_KINDS].sort());
  });

  it.each([
    [{ seed: -1 }, 'seed'],
    [{ seed: 1.5 }, 'seed'],
    [{ seed: 1, durationS: 80 }, 'duration'],
  ])('rejects %j naming %s', (bad, field) => {
    expect(() => planFaults({ ...base, ...bad })).toThrow(new RegExp(`^${field}:`));
  });

  it('for any seed: in order, inside the faulty window, and freezes and cuts outlast the heartbeat timeout', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.boolean(), (seed, bounded) => {
        const plan = planFaults({ ...base, seed, bounded });
        const counts = faultCounts(bounded);
        expect(plan).toHaveLength(Object.values(counts).reduce((a, b) => a + b, 0));
        plan.forEach((f, i) => {
          expect(f.atS).toBeGreaterThanOrEqual(base.quietS);
          expect(f.atS).toBeLessThanOrEqual(base.durationS - base.quietS);
          if (i > 0) expect(f.atS).toBeGreaterThan(plan[i - 1]?.atS ?? 0);
          if (f.kind === 'runner-freeze' || f.kind === 'network-loss') expect(f.outageS).toBeGreaterThan(base.heartbeatTimeoutS);
        });
      }),
    );
  });
});

describe('prng', () => {
  it('stays in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const r = prng(seed);
        for (let i = 0; i < 20; i++) {
          const x = r();
          if (x < 0 || x >= 1) return false;
        }
        return true;
      }),
    );
  });
});
