import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentInfo } from '../../operator/src/framework/index.ts';
import { agent, agentIndex, cycleState, NOW, routingOf, task } from '../../operator/src/framework/testing.ts';
import { automation } from './index.ts';
import { tierOf, tierStatus, compileTier, type Tier } from './routing.ts';

const S = 1000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const tiers: Tier[] = [
  compileTier({ name: 'backup', selector: { matchLabels: { tier: 'backup' } }, afterSeconds: 60 }),
  compileTier({ name: 'last-resort', selector: { matchLabels: { tier: 'backup', cost: 'high' } }, afterSeconds: 300 }),
  compileTier({ name: 'expensive', selector: { matchLabels: { cost: 'high' } }, afterSeconds: 600 }),
];
const index = agentIndex;

describe('fallback tiers', () => {
  it.each([
    // case, agent labels, waited (s), code, reason
    ['a primary agent takes a task at once', { team: 'a' }, 0, 'Success', undefined],
    ['an agent without labels is primary', undefined, 0, 'Success', undefined],
    [
      'a backup agent waits for the task to have waited 60 s',
      { tier: 'backup' },
      59,
      'Unschedulable',
      `tier backup: opens to this task at ${iso(NOW + 60 * S)}`,
    ],
    ['a backup agent takes it at 60 s', { tier: 'backup' }, 60, 'Success', undefined],
    ['the first matching tier counts (backup, not last-resort)', { tier: 'backup', cost: 'high' }, 61, 'Success', undefined],
    [
      'an expensive agent waits 600 s',
      { cost: 'high' },
      300,
      'Unschedulable',
      `tier expensive: opens to this task at ${iso(NOW + 600 * S)}`,
    ],
  ] as [string, Record<string, string> | undefined, number, string, string | undefined][])('%s', (_case, labels, waited, code, reason) => {
    const t = task('t', { queuedAt: NOW });
    const a = agent('a', labels ? { labels } : {});
    const status = tierStatus(tiers, t, a, NOW + waited * S);
    expect([status.code, status.reason]).toEqual([code, reason]);
  });

  it('lets a task pinned to a later-tier agent go to it at once', () => {
    const t = task('t', { affinity: { agent: 'b' } });
    expect(tierStatus(tiers, t, agent('b', { labels: { tier: 'backup' } }), NOW).code).toBe('Success');
    expect(tierStatus(tiers, t, agent('c', { labels: { tier: 'backup' } }), NOW).code).toBe('Unschedulable');
  });

  it('counts the wait from the last queueing (a hand-back starts it again)', () => {
    const handedBack = task('t', { queuedAt: NOW - 30 * S });
    expect(tierStatus(tiers, handedBack, agent('b', { labels: { tier: 'backup' } }), NOW).reason).toBe(
      `tier backup: opens to this task at ${iso(NOW + 30 * S)}`,
    );
  });

  it('opens a tier exactly afterSeconds after queueing, and never closes it again (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(3600),
        fc.nat(7200),
        fc.dictionary(fc.constantFrom('tier', 'cost', 'team'), fc.constantFrom('backup', 'high', 'a')),
        (after, waited, labels) => {
          const ts = [compileTier({ name: 'x', selector: { matchLabels: { tier: 'backup' } }, afterSeconds: after })];
          const s = tierStatus(ts, task('t'), agent('a', { labels }), NOW + waited * S);
          const inTier = tierOf(ts, labels) !== undefined;
          expect(s.code).toBe(!inTier || waited >= after ? 'Success' : 'Unschedulable');
        },
      ),
    );
  });
});

describe('routing part', () => {
  it('skips its Filter with nothing to check', () => {
    const routing = routingOf(automation, {});
    const state = cycleState();
    expect(routing.preFilter?.(task('t'), index([agent('a')]), state)).toEqual({ status: { code: 'Skip' } });
    expect(routing.filter?.(task('t'), agent('a'), state)).toEqual({ code: 'Success' });
  });

  it('runs the tiers from the config', () => {
    const routing = routingOf(automation, { tiers: [{ name: 'backup', selector: { matchLabels: { tier: 'backup' } }, afterSeconds: 60 }] });
    const state = cycleState();
    const backup = agent('b', { labels: { tier: 'backup' } });
    expect(routing.preFilter?.(task('t'), index([backup]), state)).toEqual({});
    expect(routing.filter?.(task('t', { queuedAt: NOW - 10 * S }), backup, state)).toEqual({
      code: 'Unschedulable',
      reason: `tier backup: opens to this task at ${iso(NOW + 50 * S)}`,
    });
  });

  describe('schedule caps', () => {
    // NOW is 2023-11-14T22:13:20Z: inside a window open from 22:00 to 06:00 UTC.
    const config = { schedules: [{ name: 'night', pool: 'p', start: '0 22 * * *', end: '0 6 * * *', maxAwake: 1 }] };
    const pooled = (name: string, o: Partial<Pick<AgentInfo, 'sleeping' | 'ready' | 'leaving'>> = {}): AgentInfo =>
      agent(name, { pool: 'p', ...o });

    it('keeps a sleeping agent of a capped pool asleep while as many as the cap are awake, also for a woken copy', () => {
      const routing = routingOf(automation, config);
      const awake = pooled('a');
      const asleep = pooled('b', { sleeping: true, ready: false });
      const state = cycleState();
      expect(routing.preFilter?.(task('t'), index([awake, asleep]), state)).toEqual({});
      const reason = 'schedule night: pool p keeps at most 1 awake until 2023-11-15 06:00 UTC';
      expect(routing.filter?.(task('t'), asleep, state)).toEqual({ code: 'Unschedulable', reason });
      // What PostFilter asks before waking it: the same agent, as if awake.
      expect(routing.filter?.(task('t'), { ...asleep, sleeping: false, ready: true }, state)).toEqual({ code: 'Unschedulable', reason });
      expect(routing.filter?.(task('t'), awake, state)).toEqual({ code: 'Success' });
    });

    it('lets one be woken while the pool is below its cap', () => {
      const routing = routingOf(automation, config);
      const state = cycleState();
      const asleep = pooled('b', { sleeping: true, ready: false });
      expect(routing.preFilter?.(task('t'), index([pooled('a', { leaving: true }), asleep]), state)).toEqual({ status: { code: 'Skip' } });
      expect(routing.filter?.(task('t'), asleep, state)).toEqual({ code: 'Success' });
    });

    it('does not cap agents of other pools, nor outside the window', () => {
      const routing = routingOf(automation, { schedules: [{ ...config.schedules[0], start: '0 8 * * *', end: '0 20 * * *' }] });
      const state = cycleState();
      const asleep = pooled('b', { sleeping: true });
      routing.preFilter?.(task('t'), index([pooled('a'), asleep, agent('c', { pool: 'q', sleeping: true })]), state);
      expect(routing.filter?.(task('t'), asleep, state)).toEqual({ code: 'Success' });
    });
  });
});
