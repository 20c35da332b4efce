import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '../..');

// What the operator and the runner load before they do anything: the packages that are
// loaded on demand (client-node for exec plugins and auth providers, about 85 MB of RSS;
// dockerode with the first docker Agent, about 10 MB) must stay out of it, and so must
// undici (15-30 MB): the REST and webhook clients use Node's own http(s) modules.
const HOOK = `import { registerHooks } from 'node:module';
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); process.stderr.write('LOADED ' + r.url + '\\n'); return r; } });
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'startup-modules-'));
  await writeFile(path.join(dir, 'hook.mjs'), HOOK);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every module URL the entry point loads before it fails for want of a kubeconfig. */
function modulesOf(entry: string, env: Record<string, string>): string[] {
  const run = spawnSync(process.execPath, ['--import', path.join(dir, 'hook.mjs'), path.join(repo, entry)], {
    env: { HOME: dir, KUBECONFIG: path.join(dir, 'missing'), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  expect(run.stderr).toContain('cannot read it (ENOENT)');
  return run.stderr.split('\n').flatMap((l) => (l.startsWith('LOADED ') ? [l.slice('LOADED '.length)] : []));
}

describe('modules loaded at start-up', () => {
  it.each([
    {
      name: 'the operator',
      entry: 'operator/src/main.ts',
      env: { AO_LEADER_ELECT: 'false' },
      unwanted: /@kubernetes\/client-node|\/dockerode\/|\/docker-modem\/|\/undici\//,
    },
    // The runner runs in every agent: not even zod (about 13 MB), which the operator needs.
    {
      name: 'the runner',
      entry: 'runner/main.ts',
      env: { AGENT_NAME: 'a', AGENT_NAMESPACE: 'n' },
      unwanted: /@kubernetes\/client-node|\/dockerode\/|\/docker-modem\/|\/zod\/|\/undici\//,
    },
  ])('$name loads only what it needs', ({ entry, env, unwanted }) => {
    const loaded = modulesOf(entry, env);
    // The hook saw the packages both do load.
    expect(loaded.some((url) => url.includes('/pino/'))).toBe(true);
    expect(loaded.filter((url) => unwanted.test(url))).toEqual([]);
  });
});
