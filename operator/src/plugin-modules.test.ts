import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from './builtin-registry.ts';
import { ConfigError } from './config/config.ts';
import { loadPluginModules, PluginLoadError, pluginProblems } from './plugin-modules.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = 'examples/plugins/team-score/index.ts';
const dir = mkdtempSync(path.join(tmpdir(), 'plugin-modules-'));

/** A module file in a scratch folder; its path. */
function module(name: string, source: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, source);
  return file;
}

// A Plugin without zod: the registry only calls config.safeParse and config.parse.
const PLAIN = `{
  name: 'plain', admission: [],
  config: { safeParse: (v) => ({ success: true, data: v }), parse: (v) => v },
  create: () => ({ routing: { score: () => 50, filter: () => ({ code: 'Success' }) } }),
}`;

const load = (modules: string[]): ReturnType<typeof loadPluginModules> => loadPluginModules(builtinRegistry(), modules, repo);

async function failure(modules: string[]): Promise<PluginLoadError> {
  const err = await load(modules).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PluginLoadError);
  expect(err).toBeInstanceOf(ConfigError);
  return err as PluginLoadError;
}

describe('loadPluginModules', () => {
  it('loads a module by a path relative to the working directory and adds its plugin', async () => {
    const { registry, loaded } = await load([EXAMPLE]);
    expect(loaded).toEqual([{ plugin: 'team-score', module: path.join(repo, EXAMPLE), points: ['routing.score'] }]);
    expect(registry.get('team-score')).toBeDefined();
    expect(registry.scorerNames).toContain('team-score');
    expect(registry.plugins.length).toBe(builtinRegistry().plugins.length + 1);
    // A policy can name it, with its settings checked by its own schema.
    expect(
      registry.build({ strategy: 'Balanced', plugins: [{ name: 'team-score', weight: 5 }] }, { 'team-score': { sharedAgentScore: 70 } })
        .errors,
    ).toEqual([]);
    expect(registry.build({ strategy: 'Balanced' }, { 'team-score': { sharedAgentScore: 700 } }).errors).toEqual([
      expect.stringMatching(/^spec\.plugins\.team-score\.sharedAgentScore: /),
    ]);
  });

  it('takes a named `plugin` export when there is no default one, from an absolute path, in order', async () => {
    const file = module('named.mjs', `export const plugin = ${PLAIN};\n`);
    const { loaded } = await load([file, EXAMPLE]);
    expect(loaded.map((l) => [l.plugin, l.module, l.points])).toEqual([
      ['plain', file, ['routing.score', 'routing.filter']],
      ['team-score', path.join(repo, EXAMPLE), ['routing.score']],
    ]);
  });

  it('loads nothing when given nothing', async () => {
    const { registry, loaded } = await load([]);
    expect(loaded).toEqual([]);
    expect(registry.plugins.map((p) => p.name)).toEqual(builtinRegistry().plugins.map((p) => p.name));
  });

  it('names the path as given and resolved when the file does not exist', async () => {
    const err = await failure(['plugins/nope/index.js']);
    expect(err.message).toBe(
      `--plugin / AO_PLUGINS: cannot load plugin module plugins/nope/index.js (${path.join(repo, 'plugins/nope/index.js')}): no such file; give an absolute path, or one relative to the working directory ${repo}`,
    );
  });

  it('says what the module lacks when it exports no plugin', async () => {
    const err = await failure([module('nothing.mjs', 'export const other = 1;\n')]);
    expect(err.message).toMatch(
      /nothing\.mjs: it has no default export and no export named plugin; export default \(or export const plugin\) an object with name, config/,
    );
  });

  it('lists every problem of an export that is not a plugin, on one line', async () => {
    const err = await failure([module('bad.mjs', "export default { name: 'Bad_Name', config: {}, admission: {} };\n")]);
    expect(err.message).toContain('bad.mjs: its export is not a plugin: ');
    expect(err.message).toContain(`name "Bad_Name" must be lowercase letters`);
    expect(err.message).toContain('config must be a zod schema');
    expect(err.message).toContain('create must be a function');
    expect(err.message).toContain('admission must be an array');
    expect(err.message).not.toContain('\n');
  });

  it('refuses a name that is taken, built in or loaded before', async () => {
    const clash = module('clash.mjs', `export default { ...${PLAIN}, name: 'least-loaded' };\n`);
    expect((await failure([clash])).message).toMatch(
      /clash\.mjs: a plugin named "least-loaded" is already registered \(built in\); rename it$/,
    );
    expect((await failure([EXAMPLE, path.join(repo, EXAMPLE)])).message).toMatch(
      /a plugin named "team-score" is already registered \(loaded from .*team-score\/index\.ts\); rename it$/,
    );
  });

  it('reports a module that cannot be imported with the first line of the error', async () => {
    const err = await failure([module('throws.mjs', "throw new Error('no config file\\nsecond line');\n")]);
    expect(err.message).toMatch(/throws\.mjs: no config file; fix the module so `node` can import it/);
  });
});

describe('pluginProblems', () => {
  const plain = {
    name: 'p',
    config: { safeParse: () => ({ success: true }), parse: (v: unknown) => v },
    create: () => ({}),
    admission: [],
  };

  it('accepts what definePlugin returns and a plain object of that shape', async () => {
    const { default: example } = await import('../../examples/plugins/team-score/index.ts');
    expect(pluginProblems(example)).toEqual([]);
    expect(pluginProblems(plain)).toEqual([]);
    for (const p of builtinRegistry().plugins) expect(pluginProblems(p)).toEqual([]);
  });

  it.each([
    [null, 'the export is null, not an object'],
    [() => plain, 'the export is function, not an object'],
    [
      { ...plain, config: { safeParse: () => ({ success: false }), parse: () => undefined } },
      'config must accept {} (give every setting a default)',
    ],
    [
      { ...plain, admission: [{ resource: 'pods', expression: 'true', message: 'm' }] },
      'admission[0] must be {resource: agents|tasks|orchestratorpolicies, expression, message}',
    ],
    [{ ...plain, settingsFrom: 'spec.x' }, 'settingsFrom must be a function when set'],
    [{ ...plain, create: () => 'x' }, 'create({}) must return an object {routing?, lifecycle?}'],
    [{ ...plain, create: () => ({ routing: 1 }) }, 'create({}).routing must be an object of extension point functions'],
    [
      {
        ...plain,
        create: () => {
          throw new Error('boom');
        },
      },
      'create({}) threw: boom',
    ],
  ])('%#: %s', (value, problem) => {
    expect(pluginProblems(value)).toEqual([problem]);
  });
});
