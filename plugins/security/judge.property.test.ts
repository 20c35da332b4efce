import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { agent } from '../../operator/src/api/agent.ts';
import { TABLE_SETTINGS } from './cases.ts';
import { securitySettings } from './config.ts';
import { securityJudge, type Violation } from './judge.ts';

const settings = securitySettings.parse(TABLE_SETTINGS);
const judge = securityJudge(settings);
const SEED = 20261201;

// Values on both sides of each setting of the table, so both verdicts come up often.
const image = fc.constantFrom(
  '127.0.0.1:5000/runner:1',
  '127.0.0.1:5000/a/b',
  'ghcr.io/acme/x/y:2',
  'ghcr.io/acmex/y',
  'agent-orchestrator/runner:dev',
  'busybox',
);
const secretName = fc.constantFrom('llm-key', 'team-a-x', 'team-b-x', 'prod-db');
const envVar = fc.oneof(
  fc.record({ name: fc.constantFrom('A', 'B', 'C'), value: fc.string({ maxLength: 4 }) }),
  fc.record({
    name: fc.constantFrom('D', 'E', 'F'),
    valueFrom: fc.record({ secretKeyRef: fc.record({ name: secretName, key: fc.constant('k') }) }),
  }),
);
const envFrom = fc.oneof(
  fc.record({ secretRef: fc.record({ name: secretName }) }),
  fc.record({ configMapRef: fc.record({ name: fc.constantFrom('settings', 'prod-db') }) }),
);
const limits = fc.record(
  { cpu: fc.constantFrom('1', '500m'), memory: fc.constantFrom('1Gi'), 'nvidia.com/gpu': fc.constant(1) },
  { requiredKeys: [] },
);
const runtime = fc.record(
  {
    type: fc.constantFrom('kubernetes', 'docker'),
    image,
    resources: fc.record({ limits }),
    runtimeClassName: fc.constantFrom('gvisor', 'kata-fc', 'runc'),
    env: fc.uniqueArray(envVar, { maxLength: 4, selector: (e) => e.name }),
    envFrom: fc.array(envFrom, { maxLength: 3 }),
    docker: fc.record({ host: fc.constantFrom('unix:///run/docker.sock', 'tcp://127.0.0.1:2375') }),
  },
  { requiredKeys: ['type', 'image'] },
);
const agents = runtime
  .map((r) => agent.safeParse({ spec: { runtime: r } }))
  .filter((p) => p.success)
  .map((p) => p.data);

/** The value at `path` in `obj`, undefined when some step is missing. */
function at(obj: unknown, path: readonly (string | number)[]): unknown {
  return path.reduce<unknown>(
    (o, k) => (o !== null && typeof o === 'object' ? (o as Record<string | number, unknown>)[k] : undefined),
    obj,
  );
}

/** Sets (or, with undefined, deletes) the value at `path`, making the objects on the way. */
function setAt(obj: Record<string | number, unknown>, path: readonly (string | number)[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) o = (o[k] ??= {}) as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (value === undefined) Reflect.deleteProperty(o, last);
  else o[last] = value;
}

// Things the table's settings allow, to add to an Agent the judge accepted.
const allowedAdditions = fc.record(
  {
    env: fc.constant({ name: 'ADDED', valueFrom: { secretKeyRef: { name: 'team-a-added', key: 'k' } } }),
    envFrom: fc.constantFrom({ secretRef: { name: 'llm-key' } }, { configMapRef: { name: 'any-map' } }),
    request: fc.constant('250m'),
    runtimeClassName: fc.constantFrom('gvisor', 'kata-qemu'),
  },
  { requiredKeys: [] },
);

describe('the security judge, on random Agents', () => {
  it('names, in each violation, a field the Agent has (or, for a required one, lacks)', () => {
    fc.assert(
      fc.property(agents, (a) => {
        for (const v of judge(a)) {
          const value = at(a, v.path);
          if (v.kind === 'forbidden') expect(value).toBeDefined();
          else expect(value).toBeUndefined();
          expect(v.message.startsWith(`${v.field}: `)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('keeps accepting an Agent it accepted after allowed things are added to it', () => {
    fc.assert(
      fc.property(agents, allowedAdditions, (a, add) => {
        fc.pre(judge(a).length === 0);
        const r = a.spec.runtime;
        const env = add.env && !(r.env ?? []).some((e) => e.name === add.env?.name) ? [...(r.env ?? []), add.env] : r.env;
        const more = agent.parse({
          spec: {
            ...a.spec,
            runtime: {
              ...r,
              ...(env ? { env } : {}),
              ...(add.envFrom ? { envFrom: [...(r.envFrom ?? []), add.envFrom] } : {}),
              ...(add.request ? { resources: { ...r.resources, requests: { cpu: add.request } } } : {}),
              ...(add.runtimeClassName ? { runtimeClassName: add.runtimeClassName } : {}),
            },
          },
        });
        expect(judge(more)).toEqual([]);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('finds each violation alone as it finds it among others: fixing one leaves the rest as they were', () => {
    fc.assert(
      fc.property(agents, (a) => {
        const found = judge(a);
        fc.pre(found.length > 1);
        const [first, ...rest] = found as [Violation, ...Violation[]];
        const fixed = structuredClone(a) as unknown as Record<string, unknown>;
        const fix =
          first.kind === 'missing'
            ? '1'
            : first.field === 'spec.runtime.image'
              ? '127.0.0.1:5000/fixed'
              : first.field.endsWith('.name')
                ? 'llm-key' // a Secret reference in env or envFrom: an allowed Secret instead
                : undefined; // a Docker engine or GPU limit: remove it
        setAt(fixed, first.path, fix);
        expect(judge(fixed as unknown as typeof a).map((v) => v.field)).toEqual(rest.map((v) => v.field));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
