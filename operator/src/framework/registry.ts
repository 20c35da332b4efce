import type { z } from 'zod';
import type { Profile, NamedPlugin } from './cycle.ts';
import type { Plugin, PluginInstance } from './plugin.ts';
import type { RoutingPlugin } from './types.ts';

export interface RoutingSpec {
  readonly strategy: string;
  readonly plugins?: readonly { readonly name: string; readonly weight: number }[] | undefined;
}

/** A policy's spec.plugins: per plugin, its settings and an optional `enabled: false`. */
export type PluginConfigs = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** Score plugins and weights of each routing strategy, before spec.routing.plugins adjusts them. */
export type StrategyPresets = Readonly<Record<string, readonly (readonly [string, number])[]>>;

export interface Built {
  readonly profile: Profile;
  /** Every enabled plugin, configured, by name. */
  readonly instances: ReadonlyMap<string, PluginInstance>;
}

export type BuildResult = (Built & { readonly errors: [] }) | { readonly profile?: undefined; readonly errors: string[] };

/**
 * The plugins the operator knows, handed in by the composition root (main.ts) so the
 * framework names none: kube-scheduler's registry with WithPlugin for out-of-tree ones.
 * Building checks a policy's whole plugin configuration at once and names the field of
 * every error, so the policy controller can reject it when it is applied.
 */
export class PluginRegistry {
  readonly plugins: readonly Plugin[];
  private readonly byName: ReadonlyMap<string, Plugin>;
  private readonly strategies: StrategyPresets;
  /** Plugins that score with their default config: what spec.routing.plugins may name. */
  readonly scorerNames: readonly string[];

  constructor(plugins: readonly Plugin[], strategies: StrategyPresets) {
    const byName = new Map<string, Plugin>();
    for (const p of plugins) {
      if (byName.has(p.name)) throw new Error(`two plugins are named "${p.name}": rename one`);
      byName.set(p.name, p);
    }
    this.plugins = plugins;
    this.byName = byName;
    this.strategies = strategies;
    this.scorerNames = plugins.filter((p) => defaultInstance(p)?.routing?.score !== undefined).map((p) => p.name);
    for (const [strategy, preset] of Object.entries(strategies)) {
      for (const [name] of preset) {
        if (!this.scorerNames.includes(name)) throw new Error(`routing strategy ${strategy} names "${name}", which is not a score plugin`);
      }
    }
  }

  /** A registry with one more plugin (an out-of-tree one); a taken name is an error. */
  with(plugin: Plugin): PluginRegistry {
    return new PluginRegistry([...this.plugins, plugin], this.strategies);
  }

  get(name: string): Plugin | undefined {
    return this.byName.get(name);
  }

  /**
   * `spec` is the whole policy spec, for plugins whose settings predate spec.plugins
   * (Plugin.settingsFrom); their spec.plugins entry is merged over those.
   */
  build(routing: RoutingSpec, configs: PluginConfigs | undefined, spec: Readonly<Record<string, unknown>> = {}): BuildResult {
    const errors: string[] = [];
    const enabled = new Map<string, unknown>();
    for (const name of Object.keys(configs ?? {})) {
      if (!this.byName.has(name))
        errors.push(`spec.plugins.${name}: unknown plugin "${name}"; known: ${[...this.byName.keys()].join(', ')}`);
    }
    for (const plugin of this.plugins) {
      const { enabled: on, ...own } = configs?.[plugin.name] ?? {};
      const settings = { ...(plugin.settingsFrom?.(spec) ?? {}), ...own };
      if (on !== undefined && typeof on !== 'boolean') errors.push(`spec.plugins.${plugin.name}.enabled: must be true or false`);
      const parsed = plugin.config.safeParse(settings);
      if (!parsed.success) errors.push(...parsed.error.issues.flatMap((issue) => configError(plugin.name, issue)));
      else if (on !== false) enabled.set(plugin.name, settings);
    }

    const preset = this.strategies[routing.strategy];
    if (preset === undefined)
      errors.push(`spec.routing.strategy: unknown strategy "${routing.strategy}"; known: ${Object.keys(this.strategies).join(', ')}`);
    const weights = new Map<string, number>(preset ?? []);
    (routing.plugins ?? []).forEach(({ name, weight }, i) => {
      const field = `spec.routing.plugins[${i}]`;
      const known = `known: ${this.scorerNames.join(', ')}`;
      if (!this.byName.has(name)) errors.push(`${field}.name: unknown routing plugin "${name}"; ${known}`);
      else if (!this.scorerNames.includes(name)) errors.push(`${field}.name: routing plugin "${name}" does not score; ${known}`);
      else if (!enabled.has(name) && weight > 0)
        errors.push(`${field}.name: plugin "${name}" is disabled (spec.plugins.${name}.enabled: false)`);
      else if (!Number.isInteger(weight) || weight < 0 || weight > 100)
        errors.push(`${field}.weight: must be a whole number from 0 to 100`);
      // An override keeps the preset's place in the order; a plugin the preset lacks goes last.
      else weights.set(name, weight);
    });
    if (errors.length > 0) return { errors };

    // One instance per plugin, shared by every extension point it serves.
    const instances = new Map<string, PluginInstance>();
    for (const [name, settings] of enabled) {
      const plugin = this.byName.get(name);
      if (plugin) instances.set(name, plugin.create(settings));
    }
    const routingOf = (name: string): RoutingPlugin | undefined => instances.get(name)?.routing;
    const at = (point: keyof RoutingPlugin): NamedPlugin[] =>
      [...instances].flatMap(([name, i]) => (i.routing?.[point] !== undefined ? [{ name, plugin: i.routing }] : []));
    const scorers = [...weights].flatMap(([name, weight]) => {
      const plugin = routingOf(name);
      return weight > 0 && plugin?.score !== undefined ? [{ name, plugin, weight }] : [];
    });
    const profile: Profile = {
      queueSort: at('queueSort')[0],
      preFilters: at('preFilter'),
      filters: at('filter'),
      postFilters: at('postFilter'),
      scorers,
      reservers: at('reserve'),
      permits: at('permit'),
    };
    return { profile, instances, errors: [] };
  }
}

function defaultInstance(plugin: Plugin): PluginInstance | undefined {
  const parsed = plugin.config.safeParse({});
  return parsed.success ? plugin.create({}) : undefined;
}

function configError(name: string, issue: z.core.$ZodIssue): string[] {
  const at = (path: readonly PropertyKey[]): string =>
    `spec.plugins.${name}${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
  // zod reports unknown fields on the object; naming each field tells the reader what to delete.
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${at([...issue.path, key])}: ${issue.message}`);
  return [`${at(issue.path)}: ${issue.message}`];
}
