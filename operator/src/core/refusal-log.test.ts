import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECENT_REFUSALS } from '../api/names.ts';
import { RefusalBatch, withRefusals, type Refusal } from './refusal-log.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const get = (name: string): Refusal => ({ verb: 'get', resource: 'tasks', name, namespace: 'ns', message: 'forbidden' });

describe('RefusalBatch', () => {
  it('coalesces alike refusals into one entry with a count and the latest time', () => {
    const b = new RefusalBatch();
    for (let i = 0; i < 1000; i++) b.add(get('b1'), T0 + i);
    b.add({ verb: 'update', resource: 'leases', name: 'agent-bob', namespace: 'ns' }, T0 + 5);
    expect(b.size).toBe(1001);
    expect(b.take()).toEqual([
      { time: new Date(T0 + 5).toISOString(), verb: 'update', resource: 'leases', name: 'agent-bob', namespace: 'ns', count: 1 },
      {
        time: new Date(T0 + 999).toISOString(),
        verb: 'get',
        resource: 'tasks',
        name: 'b1',
        namespace: 'ns',
        count: 1000,
        message: 'forbidden',
      },
    ]);
    expect(b.size).toBe(0);
    expect(b.take()).toEqual([]);
  });

  it('cuts messages to 256 characters', () => {
    const b = new RefusalBatch();
    b.add({ ...get('x'), message: 'm'.repeat(5000) }, T0);
    expect(b.take()[0]?.message).toHaveLength(256);
  });

  it('keeps at most RECENT_REFUSALS entries and counts every refusal of a scan of many names', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 500 }), (names) => {
        const b = new RefusalBatch();
        names.forEach((n, i) => {
          b.add(get(`t${n}`), T0 + i);
        });
        const taken = b.take();
        expect(taken.length).toBeLessThanOrEqual(RECENT_REFUSALS);
        expect(taken.reduce((n, e) => n + e.count, 0)).toBe(names.length);
      }),
    );
  });

  it('puts a failed batch back whole', () => {
    const b = new RefusalBatch();
    b.add(get('b1'), T0);
    b.add(get('b1'), T0 + 1);
    const failed = b.take();
    b.add(get('b2'), T0 + 2);
    b.addAll(failed);
    expect(b.take().map((e) => [e.name, e.count])).toEqual([
      ['b1', 2],
      ['b2', 1],
    ]);
  });
});

describe('withRefusals', () => {
  const batch = (): ReturnType<RefusalBatch['take']> => {
    const b = new RefusalBatch();
    b.add(get('b1'), T0);
    b.add(get('b1'), T0 + 1);
    return b.take();
  };

  it('adds the batch to the total and the recent entries', () => {
    expect(withRefusals({ total: 40, recent: [] }, batch())).toMatchObject({ total: 42, recent: [{ name: 'b1', count: 2 }] });
    expect(withRefusals(undefined, batch())).toMatchObject({ total: 2 });
  });

  it('writes nothing for an empty batch or one the log holds already', () => {
    expect(withRefusals(undefined, [])).toBeUndefined();
    const once = withRefusals(undefined, batch());
    expect(withRefusals(once, batch())).toBeUndefined();
  });

  it('keeps the last RECENT_REFUSALS entries', () => {
    let log = withRefusals(undefined, batch());
    for (let i = 0; i < 50; i++) {
      const b = new RefusalBatch();
      b.add(get(`t${i}`), T0 + 10 + i);
      log = withRefusals(log, b.take()) ?? log;
    }
    expect(log?.recent).toHaveLength(RECENT_REFUSALS);
    expect(log?.recent?.at(-1)?.name).toBe('t49');
    expect(log?.total).toBe(52);
  });
});
