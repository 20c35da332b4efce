import { describe, expect, it } from 'vitest';
import { routingStrategies } from './api/policy.ts';
import { builtinPlugins } from '../../plugins/builtin.ts';
import { builtinRegistry } from './builtin-registry.ts';
import { definePlugin } from './framework/plugin.ts';
import { PluginRegistry, type PluginConfigs, type RoutingSpec } from './framework/registry.ts';
import { z } from 'zod';

const registry = builtinRegistry();
const buildProfile = (routing: RoutingSpec, config: PluginConfigs | undefined): ReturnType<typeof registry.build> =>
  registry.build(routing, config);

function summary(routing: RoutingSpec, config?: Record<string, Record<string, unknown>>): string[] {
  const built = buildProfile(routing, config);
  if (built.profile === undefined) throw new Error(built.errors.join('; '));
  return built.profile.scorers.map(({ name, weight }) => `${name}:${weight}`);
}

function errorsOf(routing: RoutingSpec, config?: Record<string, Record<string, unknown>>): string[] {
  return buildProfile(routing, config).errors;
}

const KNOWN = 'known: context, affinity, preferred-capabilities, least-loaded, most-loaded, round-robin, power-of-two-choices';

describe('buildProfile presets', () => {
  it.each([
    ['Balanced', ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1', 'context:1']],
    ['LeastLoaded', ['least-loaded:3', 'preferred-capabilities:1', 'affinity:3', 'context:1']],
    ['RoundRobin', ['round-robin:3', 'preferred-capabilities:1', 'affinity:3', 'context:1']],
    ['PowerOfTwoChoices', ['power-of-two-choices:3', 'preferred-capabilities:1', 'affinity:3', 'context:1']],
    ['BinPack', ['most-loaded:3', 'preferred-capabilities:1', 'affinity:3', 'context:1']],
  ] as const)('%s', (strategy, scorers) => {
    const built = buildProfile({ strategy }, undefined);
    expect(built.errors).toEqual([]);
    expect(built.profile?.preFilters.map((p) => p.name)).toEqual(['required-capabilities', 'context', 'affinity', 'automation']);
    expect(built.profile?.filters.map((p) => p.name)).toEqual([
      'required-capabilities',
      'agent-state',
      'circuit-breaker',
      'anomaly',
      'threat-detection',
      'budget',
      'capacity',
      'context',
      'affinity',
      'automation',
    ]);
    expect(built.profile?.postFilters.map((p) => p.name)).toEqual(['agent-state']);
    expect(built.profile?.queueSort?.name).toBe('priority');
    expect(built.profile?.reservers).toEqual([]);
    expect(built.profile?.permits).toEqual([]);
    expect(summary({ strategy })).toEqual(scorers);
  });

  it('covers every strategy the API accepts', () => {
    for (const strategy of routingStrategies) expect(buildProfile({ strategy }, undefined).errors).toEqual([]);
  });

  it('uses one affinity instance as filter and scorer', () => {
    const profile = buildProfile({ strategy: 'Balanced' }, undefined).profile;
    expect(profile?.scorers.find((s) => s.name === 'affinity')?.plugin).toBe(profile?.filters.find((f) => f.name === 'affinity')?.plugin);
  });
});

describe('buildProfile: spec.routing.plugins', () => {
  it.each([
    [
      'overrides a weight in place',
      [{ name: 'least-loaded', weight: 5 }],
      ['preferred-capabilities:2', 'affinity:3', 'least-loaded:5', 'context:1'],
    ],
    [
      'adds a score plugin at the end',
      [{ name: 'round-robin', weight: 1 }],
      ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1', 'context:1', 'round-robin:1'],
    ],
    ['weight 0 removes one', [{ name: 'affinity', weight: 0 }], ['preferred-capabilities:2', 'least-loaded:1', 'context:1']],
    [
      'weight 0 on one the preset lacks changes nothing',
      [{ name: 'most-loaded', weight: 0 }],
      ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1', 'context:1'],
    ],
    ['an empty list is the preset', [], ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1', 'context:1']],
  ] as [string, { name: string; weight: number }[], string[]][])('%s', (_case, plugins, expected) => {
    expect(summary({ strategy: 'Balanced', plugins })).toEqual(expected);
  });

  it('accepts the shape the policy schema parses to (plugins: undefined)', () => {
    expect(summary({ strategy: 'BinPack', plugins: undefined })).toEqual([
      'most-loaded:3',
      'preferred-capabilities:1',
      'affinity:3',
      'context:1',
    ]);
  });

  it('rejects unknown names and plugins that do not score, naming the item', () => {
    const plugins = [
      { name: 'least-loaded', weight: 1 },
      { name: 'fastest', weight: 2 },
      { name: 'capacity', weight: 1 },
    ];
    expect(errorsOf({ strategy: 'Balanced', plugins })).toEqual([
      `spec.routing.plugins[1].name: unknown routing plugin "fastest"; ${KNOWN}`,
      `spec.routing.plugins[2].name: routing plugin "capacity" does not score; ${KNOWN}`,
    ]);
    expect(buildProfile({ strategy: 'Balanced', plugins }, undefined).profile).toBeUndefined();
  });

  it('rejects a weight outside 0-100 even when the schema was skipped', () => {
    expect(errorsOf({ strategy: 'Balanced', plugins: [{ name: 'affinity', weight: 101 }] })).toEqual([
      'spec.routing.plugins[0].weight: must be a whole number from 0 to 100',
    ]);
  });
});

describe('buildProfile: spec.plugins', () => {
  it('passes a routing plugin its config', () => {
    const plain = buildProfile({ strategy: 'Balanced' }, undefined).profile?.queueSort?.plugin;
    const slow = buildProfile({ strategy: 'Balanced' }, { priority: { agingSecondsPerPoint: 3600 } }).profile?.queueSort?.plugin;
    const old = { key: 'ns/old', namespace: 'ns', name: 'old', required: [], preferred: [], priority: 100, queuedAt: 0 };
    const fresh = { ...old, key: 'ns/fresh', name: 'fresh', priority: 150, queuedAt: 600_000 };
    expect(plain?.queueSort?.(old, fresh, 600_000)).toBeLessThan(0);
    expect(slow?.queueSort?.(old, fresh, 600_000)).toBeGreaterThan(0);
  });

  it.each([
    ['a bad value', { priority: { agingSecondsPerPoint: 0 } }, [/^spec\.plugins\.priority\.agingSecondsPerPoint: .*>=1/]],
    [
      'a wrong type',
      { priority: { agingSecondsPerPoint: 'ten' } },
      [/^spec\.plugins\.priority\.agingSecondsPerPoint: Invalid input: expected number/],
    ],
    [
      'a plugin that does not exist',
      { 'least-busy': {} },
      [/^spec\.plugins\.least-busy: unknown plugin "least-busy"; known: required-capabilities, /],
    ],
    [
      'unknown fields, one error each',
      { capacity: { max: 1, min: 0 } },
      [/^spec\.plugins\.capacity\.max: Unrecognized key/, /^spec\.plugins\.capacity\.min: Unrecognized key/],
    ],
  ] as [string, Record<string, Record<string, unknown>>, RegExp[]][])('reports %s with its field', (_case, config, expected) => {
    const errors = errorsOf({ strategy: 'Balanced' }, config);
    expect(errors).toHaveLength(expected.length);
    expected.forEach((re, i) => {
      expect(errors[i]).toMatch(re);
    });
  });

  it('validates config of a routing plugin the strategy does not use', () => {
    expect(errorsOf({ strategy: 'Balanced' }, { 'round-robin': { start: 'a' } })).toHaveLength(1);
  });

  it('reports routing and config errors together', () => {
    expect(
      errorsOf({ strategy: 'Balanced', plugins: [{ name: 'nope', weight: 1 }] }, { priority: { agingSecondsPerPoint: -1 } }),
    ).toHaveLength(2);
  });
});

describe('spec.plugins.automation', () => {
  it('names the field of a bad cron and a bad time zone, as the policy controller reports them', () => {
    const window = { name: 'night', pool: 'p', start: '0 22 * * *', end: '0 6 * * *', maxAwake: 0 };
    expect(
      errorsOf(
        { strategy: 'Balanced' },
        { automation: { schedules: [window, { ...window, name: 'late', start: '0 25 * * *', timeZone: 'Mars/Olympus' }] } },
      ),
    ).toEqual([
      'spec.plugins.automation.schedules[1].start: not a cron expression: Invalid value for hour: 25 (five fields "minute hour day-of-month month day-of-week", or six with seconds first)',
      'spec.plugins.automation.schedules[1].timeZone: unknown time zone "Mars/Olympus": use an IANA name such as Europe/Berlin, America/New_York or UTC',
    ]);
    expect(errorsOf({ strategy: 'Balanced' }, { automation: { schedules: [{ ...window, timezone: 'UTC' }] } })).toEqual([
      'spec.plugins.automation.schedules[0].timezone: Unrecognized key: "timezone"',
    ]);
  });
});

describe('spec.plugins.<name>.enabled', () => {
  it('turns a filter off, and back on by default', () => {
    const off = buildProfile({ strategy: 'Balanced' }, { capacity: { enabled: false } }).profile;
    expect(off?.filters.map((p) => p.name)).toEqual([
      'required-capabilities',
      'agent-state',
      'circuit-breaker',
      'anomaly',
      'threat-detection',
      'budget',
      'context',
      'affinity',
      'automation',
    ]);
    const on = buildProfile({ strategy: 'Balanced' }, { capacity: { enabled: true } }).profile;
    expect(on?.filters.map((p) => p.name)).toContain('capacity');
  });

  it('drops a disabled scorer from its strategy, and refuses a weight for it', () => {
    expect(summary({ strategy: 'Balanced' }, { 'least-loaded': { enabled: false } })).toEqual([
      'preferred-capabilities:2',
      'affinity:3',
      'context:1',
    ]);
    expect(
      errorsOf({ strategy: 'Balanced', plugins: [{ name: 'least-loaded', weight: 2 }] }, { 'least-loaded': { enabled: false } }),
    ).toEqual(['spec.routing.plugins[0].name: plugin "least-loaded" is disabled (spec.plugins.least-loaded.enabled: false)']);
  });

  it('wants a boolean', () => {
    expect(errorsOf({ strategy: 'Balanced' }, { capacity: { enabled: 'no' } })).toEqual([
      'spec.plugins.capacity.enabled: must be true or false',
    ]);
  });

  it('names an unknown strategy', () => {
    expect(errorsOf({ strategy: 'Fastest' })).toEqual([
      'spec.routing.strategy: unknown strategy "Fastest"; known: Balanced, LeastLoaded, RoundRobin, PowerOfTwoChoices, BinPack',
    ]);
  });
});

describe('registry', () => {
  it('holds every built-in, each with a schema that accepts empty config', () => {
    for (const plugin of builtinPlugins) {
      expect(plugin.config.safeParse({}).success).toBe(true);
      expect(registry.get(plugin.name)).toBe(plugin);
    }
  });

  it('knows which plugins score', () => {
    expect(registry.scorerNames).toEqual([
      'context',
      'affinity',
      'preferred-capabilities',
      'least-loaded',
      'most-loaded',
      'round-robin',
      'power-of-two-choices',
    ]);
  });

  it('refuses to build a plugin from config its schema rejects', () => {
    expect(() => registry.get('priority')?.create({ agingSecondsPerPoint: 0 })).toThrow();
  });

  it('takes an out-of-tree plugin with `with`, and refuses a name that is taken', () => {
    const extra = definePlugin({ name: 'team-score', config: z.strictObject({}), routing: () => ({ score: () => 50 }) });
    const wider = registry.with(extra);
    expect(wider.scorerNames).toContain('team-score');
    expect(
      wider.build({ strategy: 'Balanced', plugins: [{ name: 'team-score', weight: 4 }] }, undefined).profile?.scorers.map((s) => s.name),
    ).toEqual(['preferred-capabilities', 'affinity', 'least-loaded', 'context', 'team-score']);
    expect(() => registry.with(definePlugin({ name: 'capacity', config: z.strictObject({}) }))).toThrow('two plugins are named "capacity"');
  });

  it('refuses a strategy preset that names a plugin that does not score', () => {
    expect(() => new PluginRegistry(builtinPlugins, { Odd: [['capacity', 1]] })).toThrow(
      'routing strategy Odd names "capacity", which is not a score plugin',
    );
  });
});
