import { describe, expect, it } from 'vitest';
import { cpuStatMicros, millicores, reportUsage, sample, type Sample } from './usage.ts';

describe('sample', () => {
  it('reads the cgroup v2 figures of the whole container', () => {
    const files: Record<string, string> = {
      '/sys/fs/cgroup/cpu.stat': 'usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n',
      '/sys/fs/cgroup/memory.current': '52428800\n',
    };
    expect(sample((p) => files[p] ?? '')).toEqual({ cpuMicros: 123456, memoryBytes: 52428800, source: 'cgroup' });
  });

  it('falls back to the runner process where no cgroup v2 file is readable', () => {
    const s = sample(() => {
      throw new Error('ENOENT');
    });
    expect(s.source).toBe('process');
    expect(s.memoryBytes).toBeGreaterThan(0);
  });

  it.each([
    ['usage_usec 42\nuser_usec 40', 42],
    ['user_usec 40', undefined],
    ['usage_usec many', undefined],
  ])('cpu.stat %j -> %s', (text, micros) => {
    expect(cpuStatMicros(text)).toBe(micros);
  });
});

describe('millicores', () => {
  const at = (cpuMicros: number): Sample => ({ cpuMicros, memoryBytes: 0, source: 'cgroup' });
  it.each([
    ['one core for the whole interval', 0, 60_000_000, 60_000, 1000],
    ['a quarter of a core', 1_000_000, 16_000_000, 60_000, 250],
    ['a counter that went back (a new container): nothing', 5_000_000, 1_000, 60_000, 0],
    ['no time passed', 0, 100, 0, 0],
  ])('%s', (_name, before, after, elapsed, expected) => {
    expect(millicores(at(before), at(after), elapsed)).toBe(expected);
  });
});

describe('reportUsage', () => {
  it('writes status.resources once per interval, never more often', async () => {
    let now = 1_800_000_000_000;
    const patches: unknown[] = [];
    const stop = new AbortController();
    const samples = [0, 30_000_000, 60_000_000].map((cpuMicros, i): Sample => ({
      cpuMicros,
      memoryBytes: 1000 * (i + 1),
      source: 'cgroup',
    }));
    const clock = {
      now: () => now,
      setTimer: () => () => undefined,
      sleep: async (ms: number) => {
        now += ms;
        if (patches.length === 2) stop.abort();
      },
    };
    const client = {
      request: async (_method: string, _path: string, options: { body: unknown }) => {
        patches.push(options.body);
        return {};
      },
    };
    await reportUsage(
      {
        client: client as never,
        namespace: 'ns',
        agent: 'a',
        intervalMs: 60_000,
        clock,
        logger: { warn: () => undefined } as never,
        sample: () => samples.shift() ?? { cpuMicros: 0, memoryBytes: 0, source: 'cgroup' },
      },
      stop.signal,
    );
    expect(patches).toEqual([
      { status: { resources: { cpuMillicores: 500, memoryBytes: 2000, source: 'cgroup', observedAt: '2027-01-15T08:01:00Z' } } },
      { status: { resources: { cpuMillicores: 500, memoryBytes: 3000, source: 'cgroup', observedAt: '2027-01-15T08:02:00Z' } } },
    ]);
  });
});
