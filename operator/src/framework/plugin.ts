import type { z } from 'zod';
import type { RoutingPlugin } from './types.ts';

/** What a plugin brings once configured: the extension points it serves. */
export interface PluginInstance {
  readonly routing?: RoutingPlugin;
}

/** A plugin as the registry holds it: a name, a config schema and a factory. */
export interface Plugin {
  readonly name: string;
  /** Validates OrchestratorPolicy.spec.plugins.<name> (without `enabled`) and fills in defaults. */
  readonly config: z.ZodType;
  /** Builds the plugin from a config `config` accepts; throws on one it rejects. */
  create(config: unknown): PluginInstance;
}

export interface PluginDefinition<S extends z.ZodType> {
  /** Lowercase letters, digits and '-': the key under spec.plugins. */
  readonly name: string;
  readonly config: S;
  readonly routing?: (config: z.output<S>) => RoutingPlugin;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * One definition per plugin: its name, its config schema and a factory per extension
 * family. The factories receive the parsed config, so a plugin never sees raw YAML.
 */
export function definePlugin<S extends z.ZodType>(definition: PluginDefinition<S>): Plugin {
  const { name, config, routing } = definition;
  if (!NAME.test(name) || name.length > 63) {
    throw new Error(`plugin name "${name}" must be lowercase letters, digits and '-', at most 63 characters`);
  }
  return {
    name,
    config,
    create(raw) {
      const parsed = config.parse(raw);
      return routing ? { routing: routing(parsed) } : {};
    },
  };
}
