// Out-of-tree plugins (--plugin / AO_PLUGINS): ES modules loaded by path at start and
// added to the registry main.ts hands the controllers, as kube-scheduler's WithPlugin adds
// plugins to its registry. A module that cannot be loaded stops the operator with exit
// code 2 and one line naming the module and the fix, as a bad setting does.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './config/config.ts';
import type { Plugin } from './framework/plugin.ts';
import type { PluginRegistry } from './framework/registry.ts';

const SETTING = '--plugin / AO_PLUGINS';
const CONTRACT =
  'export default (or export const plugin) an object with name, config (a zod schema), create(config) and admission (an array); see docs/plugins.md';
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const RESOURCES = new Set(['agents', 'tasks', 'orchestratorpolicies']);

/** A plugin module that could not be loaded; main.ts reports it like any ConfigError (exit code 2). */
export class PluginLoadError extends ConfigError {}

export interface LoadedPlugin {
  readonly plugin: string;
  /** The module's absolute path. */
  readonly module: string;
  /** The extension points it serves with its default config, e.g. routing.score. */
  readonly points: readonly string[];
}

/**
 * What is wrong with `value` as a framework Plugin (the object definePlugin returns), in
 * words; empty when nothing is. Checked at start so a bad module fails there, not in the
 * middle of a routing cycle.
 */
export function pluginProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [`the export is ${value === null ? 'null' : typeof value}, not an object`];
  const p = value as Record<string, unknown>;
  const problems: string[] = [];
  const { name, config, create, admission, settingsFrom } = p;
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 63) {
    problems.push(`name ${JSON.stringify(name)} must be lowercase letters, digits and '-', at most 63 characters`);
  }
  const schema = config as { safeParse?: unknown; parse?: unknown } | null | undefined;
  if (typeof schema?.safeParse !== 'function' || typeof schema.parse !== 'function') {
    problems.push('config must be a zod schema (z.strictObject({...}))');
  } else if (!(schema.safeParse as (v: unknown) => { success: boolean })({}).success) {
    // Every policy that does not mention the plugin builds it with {}.
    problems.push('config must accept {} (give every setting a default)');
  }
  if (typeof create !== 'function') problems.push('create must be a function from config to {routing?, lifecycle?}');
  if (!Array.isArray(admission)) {
    problems.push('admission must be an array (empty when the plugin has no admission rules)');
  } else {
    admission.forEach((rule: unknown, i) => {
      const r = (rule ?? {}) as Record<string, unknown>;
      if (!RESOURCES.has(r.resource as string) || typeof r.expression !== 'string' || typeof r.message !== 'string') {
        problems.push(`admission[${i}] must be {resource: agents|tasks|orchestratorpolicies, expression, message}`);
      }
    });
  }
  if (settingsFrom !== undefined && typeof settingsFrom !== 'function') problems.push('settingsFrom must be a function when set');
  if (problems.length > 0 || typeof create !== 'function') return problems;

  let instance: unknown;
  try {
    instance = (create as (c: unknown) => unknown).call(value, {});
  } catch (err) {
    return [`create({}) threw: ${firstLine(err)}`];
  }
  if (typeof instance !== 'object' || instance === null) return ['create({}) must return an object {routing?, lifecycle?}'];
  const { routing, lifecycle } = instance as Record<string, unknown>;
  for (const [part, v] of [
    ['routing', routing],
    ['lifecycle', lifecycle],
  ] as const) {
    if (v !== undefined && (typeof v !== 'object' || v === null))
      problems.push(`create({}).${part} must be an object of extension point functions`);
  }
  return problems;
}

/**
 * Imports each module (absolute, or relative to `cwd`), takes its default export (or its
 * `plugin` export), checks it is a Plugin and adds it to `registry`, in order. Throws a
 * PluginLoadError naming the module and the fix at the first that fails.
 */
export async function loadPluginModules(
  registry: PluginRegistry,
  modules: readonly string[],
  cwd: string = process.cwd(),
): Promise<{ registry: PluginRegistry; loaded: LoadedPlugin[] }> {
  const loaded: LoadedPlugin[] = [];
  for (const given of modules) {
    const file = path.resolve(cwd, given);
    const fail = (why: string): PluginLoadError =>
      new PluginLoadError(`${SETTING}: cannot load plugin module ${given}${file === given ? '' : ` (${file})`}: ${why}`);
    if (!existsSync(file)) throw fail(`no such file; give an absolute path, or one relative to the working directory ${cwd}`);

    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const fix =
        code === 'ERR_MODULE_NOT_FOUND'
          ? 'at run time a plugin module may import zod (found in the operator’s node_modules when the module is under the operator’s directory, /app in the image) and the framework only with `import type`; bundle anything else (docs/plugins.md)'
          : 'fix the module so `node` can import it (.js/.mjs, or .ts with erasable syntax only)';
      throw fail(`${firstLine(err)}; ${fix}`);
    }
    const candidate = exports.default ?? exports.plugin;
    if (candidate === undefined) throw fail(`it has no default export and no export named plugin; ${CONTRACT}`);
    const problems = pluginProblems(candidate);
    if (problems.length > 0) throw fail(`its export is not a plugin: ${problems.join('; ')}; ${CONTRACT}`);

    const plugin = candidate as Plugin;
    if (registry.get(plugin.name) !== undefined) {
      const by = loaded.find((l) => l.plugin === plugin.name);
      throw fail(`a plugin named "${plugin.name}" is already registered (${by ? `loaded from ${by.module}` : 'built in'}); rename it`);
    }
    try {
      registry = registry.with(plugin);
    } catch (err) {
      throw fail(firstLine(err));
    }
    loaded.push({ plugin: plugin.name, module: file, points: pointsOf(plugin) });
  }
  return { registry, loaded };
}

function pointsOf(plugin: Plugin): string[] {
  const instance = plugin.create({});
  return Object.entries({ routing: instance.routing, lifecycle: instance.lifecycle }).flatMap(([part, fns]) =>
    Object.entries(fns ?? {})
      .filter(([, fn]) => typeof fn === 'function')
      .map(([point]) => `${part}.${point}`),
  );
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (
    message
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? 'unknown error'
  );
}
