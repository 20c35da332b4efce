import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { formatLine, textDestination } from './text-format.ts';

describe('text log format', () => {
  it.each([
    [
      { level: 30, time: 0, msg: 'reconciled', component: 'agent-orchestrator', controller: 'agent', key: 'demo/a' },
      '1970-01-01T00:00:00.000Z INFO  reconciled controller=agent key=demo/a\n',
    ],
    [
      { level: 50, time: 0, msg: 'failed', err: 'dial tcp: refused', retries: 2 },
      '1970-01-01T00:00:00.000Z ERROR failed err="dial tcp: refused" retries=2\n',
    ],
    [
      { level: 40, time: 0, msg: 'odd', nested: { a: 1 } },
      '1970-01-01T00:00:00.000Z WARN  odd nested={"a":1}\n'.replace('{"a":1}', '"{\\"a\\":1}"'),
    ],
  ])('formats %j', (rec, want) => {
    expect(formatLine(JSON.stringify(rec))).toBe(want);
  });

  it('passes a line that is not JSON through', () => {
    expect(formatLine('plain')).toBe('plain\n');
  });

  it('receives what pino writes', () => {
    const lines: string[] = [];
    pino({ base: { component: 'x' } }, textDestination({ write: (s) => lines.push(s) })).info({ key: 'k' }, 'hello');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}hello key=k\n$/);
  });
});
