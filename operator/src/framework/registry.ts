import type { z } from 'zod';
import { affinity, affinityConfig } from '../core/routing/affinity.ts';
import { agentState, agentStateConfig } from '../core/routing/agent-state.ts';
import { capacity, capacityConfig } from '../core/routing/capacity.ts';
import { leastLoaded, leastLoadedConfig } from '../core/routing/least-loaded.ts';
import { mostLoaded, mostLoadedConfig } from '../core/routing/most-loaded.ts';
import { powerOfTwoChoices, powerOfTwoChoicesConfig } from '../core/routing/power-of-two-choices.ts';
import { preferredCapabilities, preferredCapabilitiesConfig } from '../core/routing/preferred-capabilities.ts';
import { priority, priorityConfig } from '../core/routing/priority.ts';
import { requiredCapabilities, requiredCapabilitiesConfig } from '../core/routing/required-capabilities.ts';
import { roundRobin, roundRobinConfig } from '../core/routing/round-robin.ts';
import type { RoutingPlugin } from './types.ts';

export const routingPluginNames = [
  'required-capabilities',
  'agent-state',
  'capacity',
  'affinity',
  'preferred-capabilities',
  'least-loaded',
  'most-loaded',
  'round-robin',
  'power-of-two-choices',
  'priority',
] as const;

export type RoutingPluginName = (typeof routingPluginNames)[number];

export interface RoutingPluginEntry {
  /** Validates OrchestratorPolicy.spec.plugins.<name> and fills in its defaults. */
  readonly configSchema: z.ZodType;
  /** Builds the plugin; throws on config that configSchema rejects. */
  readonly create: (config: unknown) => RoutingPlugin;
}

function entry<S extends z.ZodType>(configSchema: S, factory: (config: z.output<S>) => RoutingPlugin): RoutingPluginEntry {
  return { configSchema, create: (config) => factory(configSchema.parse(config)) };
}

export const routingPlugins: Readonly<Record<RoutingPluginName, RoutingPluginEntry>> = {
  'required-capabilities': entry(requiredCapabilitiesConfig, requiredCapabilities),
  'agent-state': entry(agentStateConfig, agentState),
  capacity: entry(capacityConfig, capacity),
  affinity: entry(affinityConfig, affinity),
  'preferred-capabilities': entry(preferredCapabilitiesConfig, preferredCapabilities),
  'least-loaded': entry(leastLoadedConfig, leastLoaded),
  'most-loaded': entry(mostLoadedConfig, mostLoaded),
  'round-robin': entry(roundRobinConfig, roundRobin),
  'power-of-two-choices': entry(powerOfTwoChoicesConfig, powerOfTwoChoices),
  priority: entry(priorityConfig, priority),
};

export function isRoutingPluginName(name: string): name is RoutingPluginName {
  return (routingPluginNames as readonly string[]).includes(name);
}

/** Plugins that can be named in spec.routing.plugins: read off the plugins, so it cannot drift. */
export const scorePluginNames: readonly RoutingPluginName[] = routingPluginNames.filter(
  (name) => routingPlugins[name].create({}).score !== undefined,
);
