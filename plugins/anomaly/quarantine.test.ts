import { describe, expect, it } from 'vitest';
import { anomalyConfig } from './config.ts';
import { judge, type Attempt } from './detect.ts';
import { decideQuarantine, REASON, type Decision, type Previous } from './quarantine.ts';

const DEFAULTS = anomalyConfig.parse({});
const T0 = 1_700_000_000_000;
const COOLDOWN = DEFAULTS.cooldownSeconds * 1000;

/** Attempts one second apart from T0: a number is a success of that many ms, 'F' a failure. */
function run(spec: readonly (number | 'F')[], from = T0): Attempt[] {
  return spec.map((d, i) => ({
    task: `t${i}`,
    attempt: 1,
    capabilities: 'review',
    durationMs: d === 'F' ? 10 : d,
    outcome: d === 'F' ? 'Failed' : 'Succeeded',
    completedAt: from + i * 1000,
  }));
}
const normal = (n: number): number[] => Array.from({ length: n }, (_, i) => 1000 + (i % 3) * 30);
const slow = (n: number): number[] => Array<number>(n).fill(3000);

function decide(attempts: Attempt[], now: number, previous?: Previous): Decision {
  return decideQuarantine({
    now,
    kinds: judge(attempts, DEFAULTS),
    previous,
    consecutive: DEFAULTS.consecutiveTasks,
    cooldownMs: COOLDOWN,
  });
}

const quarantinedAt = (since: number): Previous => ({ status: 'True', reason: REASON.quarantined, message: 'earlier message', since });

describe('decideQuarantine', () => {
  const streak = run([...normal(10), ...slow(5)]);
  const lastSlow = T0 + 14_000;

  it('quarantines at the 5th slow attempt in a row, dated at it, with the figures', () => {
    const d = decide(streak, lastSlow + 500);
    expect(d).toMatchObject({
      state: 'quarantined',
      since: lastSlow,
      requeueAfterMs: COOLDOWN - 500,
      condition: { status: 'True', reason: 'Anomalous' },
    });
    expect(d.condition.message).toBe(
      '5 anomalous review tasks in a row: median 3.00s against a typical 1.03s (2.9x), up to 44.3 deviations: quarantined until 2023-11-14T22:18:34Z, then one probe task',
    );
  });

  it.each([
    ['4 slow attempts', run([...normal(10), ...slow(4)]), 'normal'],
    ['5 slow with a normal one between', run([...normal(10), ...slow(2), 1000, ...slow(3)]), 'normal'],
    [
      '5 slow of two kinds',
      [
        ...run([...normal(10), ...slow(3)]),
        ...run([...normal(10), ...slow(2)], T0 + 100_000).map((a) => ({ ...a, capabilities: 'other' })),
      ],
      'normal',
    ],
  ])('does not quarantine for %s', (_name, attempts, state) => {
    expect(decide(attempts, T0 + 200_000).state).toBe(state);
  });

  it('is the same decision however late it is taken (an operator restart)', () => {
    expect(decide(streak, lastSlow + 1000).since).toBe(decide(streak, lastSlow + 60_000).since);
  });

  it('keeps the quarantine and its message through the cooldown, then lets one probe through', () => {
    expect(decide(streak, lastSlow + COOLDOWN - 1, quarantinedAt(lastSlow))).toMatchObject({
      state: 'quarantined',
      condition: { message: 'earlier message' },
      requeueAfterMs: 1,
    });
    expect(decide(streak, lastSlow + COOLDOWN, quarantinedAt(lastSlow))).toMatchObject({
      state: 'probing',
      since: lastSlow,
      condition: { reason: 'AnomalyProbe' },
    });
  });

  it('releases on a normal probe, dated at the probe', () => {
    const probeAt = lastSlow + COOLDOWN + 5000;
    const probed = [...streak, ...run([1000], probeAt).map((a) => ({ ...a, task: 'probe' }))];
    const d = decide(probed, probeAt + 100, { ...quarantinedAt(lastSlow), reason: REASON.probing });
    expect(d).toMatchObject({ state: 'normal', since: probeAt, condition: { status: 'False', reason: 'AnomalyReleased' } });
    expect(d.condition.message).toContain('the probe task probe was normal');
    // Released: the old streak is not counted again.
    expect(
      decide(probed, probeAt + 10_000, { status: 'False', reason: REASON.released, message: d.condition.message, since: probeAt }).state,
    ).toBe('normal');
  });

  it('quarantines again on an anomalous probe, from the probe', () => {
    const probeAt = lastSlow + COOLDOWN + 5000;
    const probed = [...streak, ...run([3000], probeAt).map((a) => ({ ...a, task: 'probe' }))];
    const d = decide(probed, probeAt + 100, { ...quarantinedAt(lastSlow), reason: REASON.probing });
    expect(d).toMatchObject({ state: 'quarantined', since: probeAt, requeueAfterMs: COOLDOWN - 100 });
    expect(d.condition.message).toMatch(/^the probe task probe was anomalous too \(median 3.00s against a typical/);
  });

  it('needs a new streak after a release', () => {
    const releasedAt = T0 + 12_500;
    expect(decide(streak, T0 + 20_000, { status: 'False', reason: REASON.released, message: 'released', since: releasedAt }).state).toBe(
      'normal',
    );
  });

  it('quarantines an agent the fleet guard held back from when it is let in', () => {
    const d = decide(streak, T0 + 90_000, { status: 'True', reason: REASON.held, message: 'held', since: lastSlow });
    expect(d).toMatchObject({ state: 'quarantined', since: T0 + 90_000 });
  });

  it('counts a failure rate above the threshold: failures in a row, successes between passed over', () => {
    // The rate passes 0.5 at the 7th failure; the success after the 9th leaves it at 0.55.
    const failing = run([...normal(10), ...Array<'F'>(9).fill('F'), 1000, 'F', 'F']);
    expect(decide(failing.slice(0, -1), T0 + 100_000).state).toBe('normal');
    const d = decide(failing, T0 + 100_000);
    expect(d.state).toBe('quarantined');
    expect(d.condition.message).toMatch(/^5 anomalous review tasks in a row: failure rate 0\.\d\d/);
  });
});
