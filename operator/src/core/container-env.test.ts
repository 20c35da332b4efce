import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { referencedObjects, resolveContainerEnv, type EnvFromSpec, type EnvSpec, type Lookup, type SourceRef } from './container-env.ts';

const NS = 'team-a';
const objects =
  (byKey: Record<string, Lookup>) =>
  (ref: SourceRef): Lookup =>
    byKey[`${ref.kind}/${ref.name}`] ?? 'NotFound';
const secretEnv = (name: string, secret: string, key: string): EnvSpec => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });

describe('referencedObjects', () => {
  it('lists each Secret and ConfigMap once, envFrom first', () => {
    expect(
      referencedObjects(
        [secretEnv('A', 'llm', 'key'), { name: 'B', value: 'b' }, secretEnv('C', 'llm', 'other'), secretEnv('D', 'git', 'token')],
        [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'llm' } }],
      ),
    ).toEqual([
      { kind: 'ConfigMap', name: 'settings' },
      { kind: 'Secret', name: 'llm' },
      { kind: 'Secret', name: 'git' },
    ]);
  });
});

describe('resolveContainerEnv', () => {
  it('takes every key of envFrom sources, a later source over an earlier one, env over both', () => {
    const resolved = resolveContainerEnv(
      NS,
      [{ name: 'MODEL', value: 'from-env' }, secretEnv('LLM_API_KEY', 'llm', 'key')],
      [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'llm' }, prefix: 'LLM_' }],
      objects({
        'ConfigMap/settings': { data: { MODEL: 'from-configmap', LLM_key: 'from-configmap', URL: 'http://127.0.0.1:8000' } },
        'Secret/llm': { data: { key: 's3cret' } },
      }),
    );
    expect(resolved).toEqual({
      ok: true,
      env: [
        { name: 'MODEL', value: 'from-env' },
        { name: 'LLM_key', value: 's3cret' },
        { name: 'URL', value: 'http://127.0.0.1:8000' },
        { name: 'LLM_API_KEY', value: 's3cret' },
      ],
      skipped: [],
    });
  });

  it('skips envFrom keys that are not variable names, and says which, as the kubelet does', () => {
    const resolved = resolveContainerEnv(
      NS,
      [],
      [{ configMapRef: { name: 'settings' } }, { secretRef: { name: 'odd' }, prefix: 'X_' }],
      objects({
        'ConfigMap/settings': { data: { GOOD: '1', '1ST': 'digit first', 'has space': 'no' } },
        // With the prefix, a leading digit is fine; '=' never is.
        'Secret/odd': { data: { '9LIVES': 'ok', 'a=b': 'no' } },
      }),
    );
    expect(resolved).toEqual({
      ok: true,
      env: [
        { name: 'GOOD', value: '1' },
        { name: 'X_9LIVES', value: 'ok' },
      ],
      skipped: [
        'envFrom[0]: keys [1ST, has space] of ConfigMap team-a/settings were skipped: they are not valid environment variable names',
        'envFrom[1]: keys [a=b] of Secret team-a/odd were skipped: with prefix X_ they are not valid environment variable names',
      ],
    });
  });

  it('starts without an optional source that does not exist', () => {
    expect(resolveContainerEnv(NS, [{ name: 'A', value: 'a' }], [{ secretRef: { name: 'maybe', optional: true } }], objects({}))).toEqual({
      ok: true,
      env: [{ name: 'A', value: 'a' }],
      skipped: [],
    });
  });

  it.each<[string, EnvSpec[], EnvFromSpec[], Record<string, Lookup>, string, string]>([
    [
      'a Secret the operator may not read: the chart value to set',
      [secretEnv('LLM_API_KEY', 'llm', 'key')],
      [],
      { 'Secret/llm': 'Forbidden' },
      'SecretForbidden',
      'env LLM_API_KEY: the operator may not read Secret llm in namespace team-a: add llm to the chart value agents.docker.secrets (docs/agents.md#secrets-and-envfrom)',
    ],
    [
      'a missing Secret',
      [secretEnv('LLM_API_KEY', 'llm', 'key')],
      [],
      {},
      'SecretNotFound',
      'env LLM_API_KEY: Secret llm not found in namespace team-a: create it, or fix spec.runtime.env[LLM_API_KEY].valueFrom.secretKeyRef.name',
    ],
    [
      'a missing key: the keys there are, never their values',
      [secretEnv('LLM_API_KEY', 'llm', 'key')],
      [],
      { 'Secret/llm': { data: { token: 'x', url: 'y' } } },
      'SecretKeyNotFound',
      'env LLM_API_KEY: Secret llm in namespace team-a has no key key (its keys: token, url): fix spec.runtime.env[LLM_API_KEY].valueFrom.secretKeyRef.key or add the key',
    ],
    [
      'an envFrom ConfigMap the operator may not read: its own chart value',
      [],
      [{ configMapRef: { name: 'settings' } }],
      { 'ConfigMap/settings': 'Forbidden' },
      'ConfigMapForbidden',
      'envFrom[0]: the operator may not read ConfigMap settings in namespace team-a: add settings to the chart value agents.docker.configMaps (docs/agents.md#secrets-and-envfrom)',
    ],
    [
      'an optional envFrom Secret the operator may not read: whether it exists cannot be told',
      [],
      [{ secretRef: { name: 'maybe', optional: true } }],
      { 'Secret/maybe': 'Forbidden' },
      'SecretForbidden',
      'envFrom[0]: the operator may not read Secret maybe in namespace team-a: add maybe to the chart value agents.docker.secrets (docs/agents.md#secrets-and-envfrom)',
    ],
    [
      'a missing envFrom Secret that is not optional',
      [],
      [{ secretRef: { name: 'llm' } }],
      {},
      'SecretNotFound',
      'envFrom[0]: Secret llm not found in namespace team-a: create it, or set secretRef.optional: true to start without it',
    ],
    [
      'several failures: the first one’s reason, every message',
      [secretEnv('A', 'gone', 'k')],
      [{ configMapRef: { name: 'settings' } }],
      { 'ConfigMap/settings': 'Forbidden' },
      'ConfigMapForbidden',
      'envFrom[0]: the operator may not read ConfigMap settings in namespace team-a: add settings to the chart value agents.docker.configMaps (docs/agents.md#secrets-and-envfrom); env A: Secret gone not found in namespace team-a: create it, or fix spec.runtime.env[A].valueFrom.secretKeyRef.name',
    ],
  ])('fails on %s', (_name, env, envFrom, found, reason, message) => {
    expect(resolveContainerEnv(NS, env, envFrom, objects(found))).toEqual({ ok: false, reason, message });
  });

  it('never puts a Secret’s value in a failure message', () => {
    const resolved = resolveContainerEnv(
      NS,
      [secretEnv('K', 'llm', 'missing')],
      [],
      objects({ 'Secret/llm': { data: { key: 'TOP-SECRET-VALUE' } } }),
    );
    expect(resolved.ok).toBe(false);
    expect(JSON.stringify(resolved)).not.toContain('TOP-SECRET-VALUE');
  });

  const envName = fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,6}$/);
  it('property: each name once; env wins over envFrom; every valid key of a found source is there', () => {
    fc.assert(
      fc.property(
        fc.array(fc.dictionary(envName, fc.string({ maxLength: 5 }), { maxKeys: 5 }), { maxLength: 3 }),
        fc.uniqueArray(fc.record({ name: envName, value: fc.string({ maxLength: 5 }) }), { selector: (e) => e.name, maxLength: 5 }),
        (sources, env) => {
          const envFrom = sources.map((_, i) => ({ configMapRef: { name: `cm-${i}` } }));
          const found = Object.fromEntries(sources.map((data, i) => [`ConfigMap/cm-${i}`, { data }]));
          const resolved = resolveContainerEnv(NS, env, envFrom, objects(found));
          if (!resolved.ok) return false;
          const names = resolved.env.map((e) => e.name);
          const byName = new Map(resolved.env.map((e) => [e.name, e.value]));
          const lastSource = (key: string): string | undefined => sources.findLast((s) => key in s)?.[key];
          return (
            new Set(names).size === names.length &&
            env.every((e) => byName.get(e.name) === e.value) &&
            sources.every((s) => Object.keys(s).every((k) => byName.get(k) === (env.find((e) => e.name === k)?.value ?? lastSource(k))))
          );
        },
      ),
    );
  });
});
