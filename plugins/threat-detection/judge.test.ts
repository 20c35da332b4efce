import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RefusalLog } from '../../operator/src/api/agent.ts';
import { CONDITION, decide, isExcused, REASON, releases, tally, type Entry, type Own, type Previous, type Settings } from './judge.ts';

const NOW = Date.parse('2026-12-01T10:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const own: Own = { agent: 'alice', tasks: new Set(['a1']) };
const settings: Settings = { threshold: 5, windowMs: 60_000, cooldownMs: 0 };
const RBAC = 'tasks "b1" is forbidden: User "system:serviceaccount:ns:agent-alice" cannot get resource "tasks"';
const VAP = `leases.coordination.k8s.io "agent-bob" is forbidden: ValidatingAdmissionPolicy 'ao-agents' with binding 'ao-agents' denied request`;

const entry = (fields: Partial<Entry> & { ago?: number } = {}): Entry => {
  const { ago = 1000, ...rest } = fields;
  return { time: iso(NOW - ago), verb: 'get', resource: 'tasks', name: 'b1', namespace: 'ns', count: 1, message: RBAC, ...rest };
};
const log = (...recent: Entry[]): RefusalLog => ({ total: recent.reduce((n, e) => n + e.count, 0), recent });

describe('isExcused', () => {
  it.each([
    ['another agent’s task', entry(), false],
    ['its own task (RBAC’s cache lags the Role)', entry({ name: 'a1' }), true],
    ['its own task, refused by admission', entry({ name: 'a1', verb: 'update', resource: 'tasks/status', message: VAP }), false],
    ['its own Lease', entry({ resource: 'leases', name: 'agent-alice', verb: 'get' }), true],
    ['another agent’s Lease', entry({ resource: 'leases', name: 'agent-bob', verb: 'update' }), false],
    ['its own Lease, refused by admission', entry({ resource: 'leases', name: 'agent-alice', message: VAP }), false],
    ['its own Role, before it exists', entry({ resource: 'roles', name: 'agent-alice', verb: 'watch' }), true],
    ['its own Agent', entry({ resource: 'agents', name: 'alice', verb: 'list' }), true],
    ['its own status, refused by admission', entry({ resource: 'agents/status', name: 'alice', verb: 'patch', message: VAP }), false],
    ['another Agent', entry({ resource: 'agents', name: 'bob' }), false],
    ['a list of every task', entry({ verb: 'list', name: undefined }), false],
    ['a Secret', entry({ resource: 'secrets', name: 'agent-alice' }), false],
    ['reading its own account', entry({ resource: 'serviceaccounts', name: 'agent-alice' }), true],
    ['changing its own account', entry({ resource: 'serviceaccounts', name: 'agent-alice', verb: 'update' }), false],
  ] as [string, Entry, boolean][])('%s: %s', (_case, e, excused) => {
    expect(isExcused(e, own)).toBe(excused);
  });
});

describe('tally', () => {
  it.each([
    ['nothing', [undefined, undefined], 0, undefined],
    ['counts within the window only', [log(entry({ ago: 61_000 }), entry({ count: 3 })), undefined], 3, 'b1'],
    ['excused refusals do not count', [log(entry({ name: 'a1', count: 9 }), entry()), undefined], 1, 'b1'],
    [
      'the larger source, not the sum: one refusal is seen by both',
      [log(entry({ count: 4 })), log(entry({ count: 2 }), entry({ resource: 'leases', name: 'agent-bob', verb: 'update', count: 3 }))],
      5,
      'agent-bob',
    ],
    ['a refusal in the future (a skewed clock) does not count', [log(entry({ ago: -5000, count: 7 })), undefined], 0, undefined],
  ] as [string, (RefusalLog | undefined)[], number, string | undefined][])('%s', (_case, sources, count, top) => {
    const t = tally(sources, own, NOW - 60_000, NOW);
    expect(t.count).toBe(count);
    expect(t.top?.name).toBe(top);
  });
});

describe('releases', () => {
  const since = Date.parse('2026-12-01T09:00:00.400Z');
  it.each([
    [undefined, false],
    ['yes', false],
    ['2026-12-01T08:59:59Z', false],
    ['2026-12-01T09:00:00Z', true],
    ['2026-12-01T09:30:00Z', true],
  ] as [string | undefined, boolean][])('%s: %s', (annotation, expected) => {
    expect(releases(annotation, since)).toBe(expected);
  });
});

const quarantined = (since: number, message = 'tried'): Previous => ({ status: 'True', reason: REASON.quarantined, message, since });

describe('decide', () => {
  const run = (
    sources: (RefusalLog | undefined)[],
    previous?: Previous,
    annotation?: string,
    s: Settings = settings,
  ): ReturnType<typeof decide> => decide({ now: NOW, agent: 'alice', sources, own, previous, annotation, settings: s });

  it('writes nothing for an agent never refused', () => {
    expect(run([undefined, undefined])).toEqual({ state: 'clear', changed: false, count: 0 });
  });

  it('stays clear below the threshold', () => {
    const d = run([log(entry({ count: 4 })), undefined]);
    expect(d.state).toBe('clear');
    expect(d.condition).toBeUndefined();
  });

  it('quarantines at the threshold, naming what was tried and how to release it', () => {
    const d = run([log(entry({ count: 4 }), entry({ resource: 'leases', name: 'agent-bob', verb: 'update', count: 3 })), undefined]);
    expect(d).toMatchObject({ state: 'quarantined', changed: true, since: NOW, count: 7 });
    expect(d.condition?.message).toBe(
      'agent-alice tried get tasks b1 in ns (403) 4 times in 60s and was refused 3 more times: quarantined, no new tasks until a person releases it with ' +
        'kubectl annotate agent alice --overwrite agents.orchestrator.dev/release-quarantine=$(date -u +%FT%TZ)',
    );
  });

  it('holds a quarantine as it was written, whatever the refusals do since', () => {
    const since = NOW - 3_600_000;
    const d = run([undefined, undefined], quarantined(since, 'as written'));
    expect(d).toMatchObject({ state: 'quarantined', changed: false, since, condition: { status: 'True', message: 'as written' } });
    expect(d.requeueAfterMs).toBeUndefined();
  });

  it('is released by the annotation dated at or after the quarantine, not by an older one', () => {
    const since = NOW - 10_000;
    expect(run([undefined, undefined], quarantined(since), iso(since - 60_000)).state).toBe('quarantined');
    const d = run([log(entry({ count: 50 })), undefined], quarantined(since), iso(NOW));
    expect(d).toMatchObject({ state: 'released', changed: true, since: NOW, condition: { status: 'False', reason: REASON.released } });
  });

  it('forgives what came before a release: only later refusals count', () => {
    const releasedAt = NOW - 5_000;
    const previous: Previous = { status: 'False', reason: REASON.released, message: 'released', since: releasedAt };
    expect(run([log(entry({ ago: 10_000, count: 50 })), undefined], previous).state).toBe('clear');
    expect(run([log(entry({ ago: 10_000, count: 50 }), entry({ ago: 1000, count: 5 })), undefined], previous).state).toBe('quarantined');
  });

  it('releases after the cooldown when one is set, and looks again when it ends', () => {
    const s = { ...settings, cooldownMs: 300_000 };
    expect(run([undefined, undefined], quarantined(NOW - 100_000), undefined, s)).toMatchObject({
      state: 'quarantined',
      requeueAfterMs: 200_000,
    });
    expect(run([undefined, undefined], quarantined(NOW - 300_000), undefined, s)).toMatchObject({
      state: 'released',
      condition: { reason: REASON.cooledDown },
    });
  });

  it('uses the condition type the docs name', () => {
    expect(CONDITION).toBe('Quarantined');
  });
});

// Random refusal logs over the last two windows, some of them excused.
const arbEntry = fc.record({
  ago: fc.integer({ min: -10_000, max: 130_000 }),
  count: fc.integer({ min: 1, max: 20 }),
  kind: fc.constantFrom('other-task', 'own-task', 'other-lease', 'own-lease', 'admission'),
});
const toEntry = (e: { ago: number; count: number; kind: string }): Entry => {
  switch (e.kind) {
    case 'own-task':
      return entry({ ago: e.ago, count: e.count, name: 'a1' });
    case 'other-lease':
      return entry({ ago: e.ago, count: e.count, resource: 'leases', name: 'agent-bob', verb: 'update' });
    case 'own-lease':
      return entry({ ago: e.ago, count: e.count, resource: 'leases', name: 'agent-alice' });
    case 'admission':
      return entry({ ago: e.ago, count: e.count, resource: 'leases', name: 'agent-alice', message: VAP });
    default:
      return entry({ ago: e.ago, count: e.count });
  }
};
const arbLog = fc.option(
  fc.array(arbEntry, { maxLength: 32 }).map((es) => log(...es.map(toEntry))),
  { nil: undefined },
);
const arbPrevious = fc.option(
  fc.record({
    status: fc.constantFrom('True', 'False'),
    reason: fc.constantFrom(REASON.quarantined, REASON.released, REASON.cooledDown),
    message: fc.constant('m'),
    since: fc.integer({ min: NOW - 200_000, max: NOW }),
  }),
  { nil: undefined },
);
const arbSettings = fc.record({
  threshold: fc.integer({ min: 1, max: 100 }),
  windowMs: fc.integer({ min: 1, max: 120 }).map((s) => s * 1000),
  cooldownMs: fc.constantFrom(0, 30_000, 300_000),
});

describe('properties', () => {
  it('a quarantine starts exactly when the refusals that count reach the threshold, and ends only by release or cooldown', () => {
    fc.assert(
      fc.property(
        arbLog,
        arbLog,
        arbPrevious,
        fc.option(fc.integer({ min: NOW - 300_000, max: NOW }), { nil: undefined }),
        arbSettings,
        (a, b, previous, releaseAt, s) => {
          const annotation = releaseAt === undefined ? undefined : iso(releaseAt);
          const d = decide({ now: NOW, agent: 'alice', sources: [a, b], own, previous, annotation, settings: s });
          const wasQuarantined = previous?.status === 'True' && previous.reason === REASON.quarantined;
          if (wasQuarantined) {
            const released = releases(annotation, previous.since) || (s.cooldownMs > 0 && NOW >= previous.since + s.cooldownMs);
            expect(d.state).toBe(released ? 'released' : 'quarantined');
            expect(d.changed).toBe(released);
            return;
          }
          const from = Math.max(NOW - s.windowMs, previous?.status === 'False' ? previous.since : -Infinity);
          const count = tally([a, b], own, from, NOW).count;
          expect(d.state).toBe(count >= s.threshold ? 'quarantined' : 'clear');
          expect(d.changed).toBe(d.state === 'quarantined');
        },
      ),
    );
  });

  it('one refusal seen by both sources counts once; excused refusals never count', () => {
    fc.assert(
      fc.property(arbLog, fc.integer({ min: 1, max: 120_000 }), (a, windowMs) => {
        const once = tally([a, undefined], own, NOW - windowMs, NOW).count;
        expect(tally([a, a], own, NOW - windowMs, NOW).count).toBe(once);
        const excused = (a?.recent ?? []).filter((e) => isExcused(e, own));
        expect(tally([log(...excused), undefined], own, NOW - windowMs, NOW).count).toBe(0);
      }),
    );
  });

  it('more refusals never lift a quarantine nor prevent one', () => {
    fc.assert(
      fc.property(arbLog, fc.array(arbEntry, { maxLength: 8 }), arbPrevious, arbSettings, (a, extra, previous, s) => {
        const more: RefusalLog = log(...(a?.recent ?? []), ...extra.map(toEntry));
        const before = decide({ now: NOW, agent: 'alice', sources: [a, undefined], own, previous, annotation: undefined, settings: s });
        const after = decide({ now: NOW, agent: 'alice', sources: [more, undefined], own, previous, annotation: undefined, settings: s });
        if (before.state === 'quarantined') expect(after.state).toBe('quarantined');
      }),
    );
  });
});
