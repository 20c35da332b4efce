import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { automation } from './index.ts';

// The example of README.md (keep the two the same).
const README_EXAMPLE = `
schedules:
  - name: office-hours
    pool: code-review
    start: "0 8 * * 1-5"
    end: "0 20 * * 1-5"
    timeZone: Europe/Berlin
    minAwake: 2
  - name: night
    pool: code-review
    start: "0 22 * * *"
    end: "0 6 * * *"
    timeZone: Europe/Berlin
    maxAwake: 0
  - name: nightly-batch
    pool: batch
    start: "30 1 * * *"
    durationSeconds: 7200
    timeZone: America/New_York
    minAwake: 4
tiers:
  - name: shared
    selector: {matchLabels: {team: shared}}
    afterSeconds: 120
  - name: gpu-fallback
    selector: {matchLabels: {agents.orchestrator.dev/pool: gpu}}
    afterSeconds: 600
recovery:
  restartAfterFailures: 3
  backoffSeconds: 60
  maxRestarts: 5
`;

/** The errors as the registry words them: the field path under spec.plugins.automation, then the message. */
function errors(config: unknown): string[] {
  const r = automation.config.safeParse(config);
  if (r.success) return [];
  return r.error.issues.map(
    (i) => `spec.plugins.automation${i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}: ${i.message}`,
  );
}

const office = {
  name: 'office-hours',
  pool: 'code-review',
  start: '0 8 * * 1-5',
  end: '0 20 * * 1-5',
  timeZone: 'Europe/Berlin',
  minAwake: 2,
};

describe('automation config', () => {
  it('accepts nothing at all (the plugin then does nothing)', () => {
    expect(automation.config.parse({})).toEqual({ schedules: [], tiers: [] });
  });

  it('accepts the README example', () => {
    expect(errors(parse(README_EXAMPLE))).toEqual([]);
  });

  it('fills in UTC and accepts six-field crons and durations', () => {
    const parsed = automation.config.parse({
      schedules: [{ name: 'x', pool: 'p', start: '30 0 12 * * *', durationSeconds: 60, maxAwake: 0 }],
    }) as { schedules: { timeZone: string }[] };
    expect(parsed.schedules[0]?.timeZone).toBe('UTC');
  });

  it.each([
    [
      'a cron with a bad minute',
      { schedules: [{ ...office, start: '61 8 * * *' }] },
      'spec.plugins.automation.schedules[0].start: not a cron expression: Invalid value for minute: 61',
    ],
    [
      'a cron with too few fields',
      { schedules: [{ ...office, end: '0 20 *' }] },
      'spec.plugins.automation.schedules[0].end: not a cron expression: invalid configuration format',
    ],
    [
      'a cron with a year field',
      { schedules: [{ ...office, start: '0 0 8 * * 1-5 2030' }] },
      'spec.plugins.automation.schedules[0].start: not a cron expression:',
    ],
    [
      'a cron that never fires',
      { schedules: [{ ...office, start: '0 8 30 2 *' }] },
      'spec.plugins.automation.schedules[0].start: never fires (no date matches it)',
    ],
    [
      'an unknown time zone',
      { schedules: [{ ...office, timeZone: 'Europe/Atlantis' }] },
      'spec.plugins.automation.schedules[0].timeZone: unknown time zone "Europe/Atlantis": use an IANA name',
    ],
    [
      'no end',
      { schedules: [{ ...office, end: undefined }] },
      'spec.plugins.automation.schedules[0].end: set end (a cron expression) or durationSeconds',
    ],
    [
      'both end and a duration',
      { schedules: [{ ...office, durationSeconds: 60 }] },
      'spec.plugins.automation.schedules[0].durationSeconds: set end or durationSeconds, not both',
    ],
    [
      'no bounds',
      { schedules: [{ ...office, minAwake: undefined }] },
      'spec.plugins.automation.schedules[0].minAwake: set minAwake, maxAwake or both',
    ],
    [
      'minAwake above maxAwake',
      { schedules: [{ ...office, maxAwake: 1 }] },
      'spec.plugins.automation.schedules[0].minAwake: must be less than or equal to maxAwake (1)',
    ],
    [
      'two schedules of one name',
      { schedules: [office, office] },
      'spec.plugins.automation.schedules[1].name: another schedule is named "office-hours"',
    ],
    [
      'a misspelt field',
      { schedules: [{ ...office, timezone: 'UTC' }] },
      'spec.plugins.automation.schedules[0]: Unrecognized key: "timezone"',
    ],
    [
      'a tier without labels',
      { tiers: [{ name: 'b', selector: { matchLabels: {} }, afterSeconds: 1 }] },
      'spec.plugins.automation.tiers[0].selector.matchLabels: name at least one label',
    ],
    [
      'a tier with a bad label key',
      { tiers: [{ name: 'b', selector: { matchLabels: { 'a b': 'x' } }, afterSeconds: 1 }] },
      'spec.plugins.automation.tiers[0].selector.matchLabels.a b: not a label key',
    ],
    [
      'a negative wait',
      { tiers: [{ name: 'b', selector: { matchLabels: { t: 'b' } }, afterSeconds: -1 }] },
      'spec.plugins.automation.tiers[0].afterSeconds: Too small',
    ],
    ['recovery without a threshold', { recovery: { backoffSeconds: 10 } }, 'spec.plugins.automation.recovery.restartAfterFailures:'],
  ])('names the field of %s', (_case, config, message) => {
    const found = errors(config);
    expect(found.length).toBeGreaterThan(0);
    expect(found.some((e) => e.startsWith(message))).toBe(true);
  });
});
