import { builtinPlugins, strategyPresets } from '../../plugins/builtin.ts';
import { PluginRegistry } from './framework/registry.ts';

/** The registry of the plugins shipped with the operator; main.ts adds out-of-tree ones. */
export function builtinRegistry(): PluginRegistry {
  return new PluginRegistry(builtinPlugins, strategyPresets);
}
