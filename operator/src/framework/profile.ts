import type { z } from 'zod';
import type { routingStrategies } from '../api/policy.ts';
import type { Profile } from './cycle.ts';
import { isRoutingPluginName, routingPluginNames, routingPlugins, scorePluginNames, type RoutingPluginName } from './registry.ts';
import type { RoutingPlugin } from './types.ts';

export type RoutingStrategy = (typeof routingStrategies)[number];

export interface RoutingSpec {
  readonly strategy: RoutingStrategy;
  readonly plugins?: readonly { readonly name: string; readonly weight: number }[] | undefined;
}

const FILTERS: readonly RoutingPluginName[] = ['required-capabilities', 'agent-state', 'capacity', 'affinity'];
const QUEUE_SORT: RoutingPluginName = 'priority';

/** Score plugins and weights of each strategy, before spec.routing.plugins adjusts them. */
export const strategyScorers: Readonly<Record<RoutingStrategy, readonly (readonly [RoutingPluginName, number])[]>> = {
  Balanced: [['preferred-capabilities', 2], ['affinity', 3], ['least-loaded', 1]],
  LeastLoaded: [['least-loaded', 3], ['preferred-capabilities', 1], ['affinity', 3]],
  RoundRobin: [['round-robin', 3], ['preferred-capabilities', 1], ['affinity', 3]],
  PowerOfTwoChoices: [['power-of-two-choices', 3], ['preferred-capabilities', 1], ['affinity', 3]],
  BinPack: [['most-loaded', 3], ['preferred-capabilities', 1], ['affinity', 3]],
};

export type BuildResult = { profile: Profile; errors: [] } | { profile?: undefined; errors: string[] };

/**
 * Turns OrchestratorPolicy.spec.routing and spec.plugins into a Profile, or into every
 * error at once with the field it belongs to, so the policy controller can reject the
 * policy when it is applied rather than when a task first meets the plugin.
 */
export function buildProfile(
  routing: RoutingSpec,
  pluginConfig: Readonly<Record<string, Readonly<Record<string, unknown>>>> | undefined,
): BuildResult {
  const errors: string[] = [];
  const weights = new Map<RoutingPluginName, number>(strategyScorers[routing.strategy]);
  (routing.plugins ?? []).forEach(({ name, weight }, i) => {
    const field = `spec.routing.plugins[${i}]`;
    if (!isRoutingPluginName(name)) {
      errors.push(`${field}.name: unknown routing plugin "${name}"; known: ${scorePluginNames.join(', ')}`);
    } else if (!scorePluginNames.includes(name)) {
      errors.push(`${field}.name: routing plugin "${name}" does not score; known: ${scorePluginNames.join(', ')}`);
    } else if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
      errors.push(`${field}.weight: must be a whole number from 0 to 100`);
    } else {
      // An override keeps the preset's place in the order; a plugin the preset lacks goes last.
      weights.set(name, weight);
    }
  });

  for (const name of Object.keys(pluginConfig ?? {})) {
    if (!isRoutingPluginName(name)) errors.push(`spec.plugins.${name}: unknown plugin "${name}"; known: ${routingPluginNames.join(', ')}`);
  }
  const configs = new Map<RoutingPluginName, unknown>();
  for (const name of routingPluginNames) {
    const raw = pluginConfig?.[name] ?? {};
    const parsed = routingPlugins[name].configSchema.safeParse(raw);
    if (parsed.success) configs.set(name, raw);
    else errors.push(...parsed.error.issues.flatMap((issue) => configError(name, issue)));
  }
  if (errors.length > 0) return { errors };

  // One instance per plugin, shared by every extension point it serves.
  const instances = new Map<RoutingPluginName, RoutingPlugin>();
  const plugin = (name: RoutingPluginName): RoutingPlugin => {
    let p = instances.get(name);
    if (p === undefined) {
      p = routingPlugins[name].create(configs.get(name));
      instances.set(name, p);
    }
    return p;
  };
  const profile: Profile = {
    queueSort: plugin(QUEUE_SORT),
    filters: FILTERS.map(plugin),
    scorers: [...weights].filter(([, weight]) => weight > 0).map(([name, weight]) => ({ plugin: plugin(name), weight })),
    fairShare: true,
  };
  const reservers = [...instances.values()].filter((p) => p.reserve !== undefined);
  return { profile: reservers.length > 0 ? { ...profile, reservers } : profile, errors: [] };
}

function configError(name: string, issue: z.core.$ZodIssue): string[] {
  const at = (path: readonly PropertyKey[]): string =>
    `spec.plugins.${name}${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
  // zod reports unknown fields on the object; naming each field tells the reader what to delete.
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${at([...issue.path, key])}: ${issue.message}`);
  return [`${at(issue.path)}: ${issue.message}`];
}
