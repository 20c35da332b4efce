import { describe, expect, it } from 'vitest';
import { routingStrategies } from '../api/policy.ts';
import { buildProfile, type RoutingSpec } from './profile.ts';
import { routingPluginNames, routingPlugins, scorePluginNames } from './registry.ts';

function summary(routing: RoutingSpec, config?: Record<string, Record<string, unknown>>): string[] {
  const built = buildProfile(routing, config);
  if (built.profile === undefined) throw new Error(built.errors.join('; '));
  return built.profile.scorers.map(({ plugin, weight }) => `${plugin.name}:${weight}`);
}

function errorsOf(routing: RoutingSpec, config?: Record<string, Record<string, unknown>>): string[] {
  return buildProfile(routing, config).errors;
}

const KNOWN = 'known: affinity, preferred-capabilities, least-loaded, most-loaded, round-robin, power-of-two-choices';

describe('buildProfile presets', () => {
  it.each([
    ['Balanced', ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1']],
    ['LeastLoaded', ['least-loaded:3', 'preferred-capabilities:1', 'affinity:3']],
    ['RoundRobin', ['round-robin:3', 'preferred-capabilities:1', 'affinity:3']],
    ['PowerOfTwoChoices', ['power-of-two-choices:3', 'preferred-capabilities:1', 'affinity:3']],
    ['BinPack', ['most-loaded:3', 'preferred-capabilities:1', 'affinity:3']],
  ] as const)('%s', (strategy, scorers) => {
    const built = buildProfile({ strategy }, undefined);
    expect(built.errors).toEqual([]);
    expect(built.profile?.filters.map((p) => p.name)).toEqual(['required-capabilities', 'agent-state', 'capacity', 'affinity']);
    expect(built.profile?.queueSort.name).toBe('priority');
    expect(built.profile?.fairShare).toBe(true);
    expect(built.profile?.reservers).toBeUndefined();
    expect(summary({ strategy })).toEqual(scorers);
  });

  it('covers every strategy the API accepts', () => {
    for (const strategy of routingStrategies) expect(buildProfile({ strategy }, undefined).errors).toEqual([]);
  });

  it('uses one affinity instance as filter and scorer', () => {
    const profile = buildProfile({ strategy: 'Balanced' }, undefined).profile;
    expect(profile?.scorers.find((s) => s.plugin.name === 'affinity')?.plugin).toBe(profile?.filters[3]);
  });
});

describe('buildProfile: spec.routing.plugins', () => {
  it.each([
    ['overrides a weight in place', [{ name: 'least-loaded', weight: 5 }], ['preferred-capabilities:2', 'affinity:3', 'least-loaded:5']],
    ['adds a score plugin at the end', [{ name: 'round-robin', weight: 1 }], ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1', 'round-robin:1']],
    ['weight 0 removes one', [{ name: 'affinity', weight: 0 }], ['preferred-capabilities:2', 'least-loaded:1']],
    ['weight 0 on one the preset lacks changes nothing', [{ name: 'most-loaded', weight: 0 }], ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1']],
    ['an empty list is the preset', [], ['preferred-capabilities:2', 'affinity:3', 'least-loaded:1']],
  ] as [string, { name: string; weight: number }[], string[]][])('%s', (_case, plugins, expected) => {
    expect(summary({ strategy: 'Balanced', plugins })).toEqual(expected);
  });

  it('accepts the shape the policy schema parses to (plugins: undefined)', () => {
    expect(summary({ strategy: 'BinPack', plugins: undefined })).toEqual(['most-loaded:3', 'preferred-capabilities:1', 'affinity:3']);
  });

  it('rejects unknown names and plugins that do not score, naming the item', () => {
    const plugins = [{ name: 'least-loaded', weight: 1 }, { name: 'fastest', weight: 2 }, { name: 'capacity', weight: 1 }];
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
    const plain = buildProfile({ strategy: 'Balanced' }, undefined).profile?.queueSort;
    const slow = buildProfile({ strategy: 'Balanced' }, { priority: { agingSecondsPerPoint: 3600 } }).profile?.queueSort;
    const old = { key: 'ns/old', namespace: 'ns', name: 'old', required: [], preferred: [], priority: 100, queuedAt: 0 };
    const fresh = { ...old, key: 'ns/fresh', name: 'fresh', priority: 150, queuedAt: 600_000 };
    expect(plain?.queueSort?.(old, fresh, 600_000)).toBeLessThan(0);
    expect(slow?.queueSort?.(old, fresh, 600_000)).toBeGreaterThan(0);
  });

  it.each([
    ['a bad value', { priority: { agingSecondsPerPoint: 0 } }, [/^spec\.plugins\.priority\.agingSecondsPerPoint: .*>=1/]],
    ['a wrong type', { priority: { agingSecondsPerPoint: 'ten' } }, [/^spec\.plugins\.priority\.agingSecondsPerPoint: Invalid input: expected number/]],
    ['a plugin that does not exist', { 'least-busy': {} }, [/^spec\.plugins\.least-busy: unknown plugin "least-busy"; known: required-capabilities, /]],
    ['unknown fields, one error each', { capacity: { max: 1, min: 0 } }, [/^spec\.plugins\.capacity\.max: Unrecognized key/, /^spec\.plugins\.capacity\.min: Unrecognized key/]],
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
    expect(errorsOf({ strategy: 'Balanced', plugins: [{ name: 'nope', weight: 1 }] }, { priority: { agingSecondsPerPoint: -1 } })).toHaveLength(2);
  });
});

describe('registry', () => {
  it('holds every built-in, each with a schema that accepts empty config', () => {
    for (const name of routingPluginNames) {
      expect(routingPlugins[name].configSchema.safeParse({}).success).toBe(true);
      expect(routingPlugins[name].create({}).name).toBe(name);
    }
  });

  it('knows which plugins score', () => {
    expect(scorePluginNames).toEqual(['affinity', 'preferred-capabilities', 'least-loaded', 'most-loaded', 'round-robin', 'power-of-two-choices']);
  });

  it('refuses to build a plugin from config its schema rejects', () => {
    expect(() => routingPlugins.priority.create({ agingSecondsPerPoint: 0 })).toThrow();
  });
});
