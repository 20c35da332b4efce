import fc from 'fast-check';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EventRecorder, eventName, truncateUtf8 } from './events.ts';
import { heldClient } from '../../../test/support/held-client.ts';
import type { KubeObject } from './rest/object.ts';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const NOW = Date.UTC(2026, 11, 1);

describe('eventName', () => {
  it.each([
    ['a short name keeps it whole', 'build', /^build\.[0-9a-f]+$/],
    [
      'a 253-character Task name is shortened',
      `${'q'.repeat(62)}.${'0'.repeat(62)}.${'w'.repeat(62)}.${'e'.repeat(59)}-t-16`,
      /^q{62}\.0{62}\.w{62}\.e+\.[0-9a-f]+$/,
    ],
    ['a cut that would end on a dot drops it', `${'a'.repeat(235)}.${'b'.repeat(17)}`, /^a{235}\.[0-9a-f]+$/],
  ])('%s', (_what, name, shape) => {
    const out = eventName(name, NOW, 'fingerprint');
    expect(out.length).toBeLessThanOrEqual(253);
    expect(out).toMatch(shape);
    expect(out).toMatch(DNS_SUBDOMAIN);
  });

  it('is a valid name for every valid object name', () => {
    const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    const subdomain = fc.array(label, { minLength: 1, maxLength: 6 }).map(
      (ls) =>
        ls
          .join('.')
          .slice(0, 253)
          .replace(/[-.]+$/, '') || 'x',
    );
    fc.assert(
      fc.property(subdomain, fc.string(), (name, fingerprint) => {
        const out = eventName(name, NOW, fingerprint);
        return out.length <= 253 && DNS_SUBDOMAIN.test(out);
      }),
    );
  });
});

describe('truncateUtf8', () => {
  it.each([
    ['ASCII under the limit', 'abc', 10, 'abc'],
    ['ASCII over the limit', 'abcdef', 4, 'abcd'],
    ['never half of a 3-byte character', 'ééé漢', 7, 'ééé'],
    ['never half of a surrogate pair', '👩👩', 5, '👩'],
  ])('%s', (_what, s, max, want) => {
    expect(truncateUtf8(s, max)).toBe(want);
  });

  it('never passes the limit and keeps the longest prefix that fits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 600 }), fc.integer({ min: 0, max: 1200 }), (s, max) => {
        const out = truncateUtf8(s, max);
        const bytes = Buffer.byteLength(out, 'utf8');
        const next = s.slice(out.length).codePointAt(0);
        const nextBytes = next === undefined ? 0 : Buffer.byteLength(String.fromCodePoint(next), 'utf8');
        return s.startsWith(out) && bytes <= max && (next === undefined || bytes + nextBytes > max);
      }),
    );
  });
});

describe('EventRecorder backlog', () => {
  const task = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Task', metadata: { name, namespace: 'ns', uid: name } });

  it('drops and counts Events past its backlog, and takes new ones once it drains', async () => {
    const held = heldClient();
    const dropped = new Counter({ name: 'dropped', help: 'h', labelNames: ['reason'], registers: [new Registry()] });
    const recorder = new EventRecorder({
      client: held.client,
      controller: 'c',
      instance: 'i',
      logger: pino({ level: 'silent' }),
      maxOutstanding: 3,
      dropped,
    });
    const first = [0, 1, 2, 3, 4].map((i) => recorder.record(task(`t${i}`), 'Normal', 'R', 'A', 'n'));
    expect(held.paths).toHaveLength(3);
    expect((await dropped.get()).values).toEqual([{ labels: { reason: 'backlog' }, value: 2 }]);
    held.answerAll();
    await Promise.all(first);
    const last = recorder.record(task('t5'), 'Normal', 'R', 'A', 'n');
    expect(held.paths).toHaveLength(4);
    held.answerAll();
    await last;
  });
});
