import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { agent } from '../../../operator/src/api/agent.ts';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { task } from '../../../operator/src/api/task.ts';
import { installCrds } from '../../support/crds.ts';
import { Custom, type Obj } from '../../support/custom.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';

// The zod schemas and the generated CRDs must accept exactly the same objects: anything
// zod accepts, the API server accepts, and the reverse. Objects come near the edges on
// purpose: bounds +-1, wrong types, bad names, unknown fields, broken cross-field rules.
const SEED = Number(process.env.AO_FC_SEED ?? 20261126);
const RUNS = 200;

/** Mostly `valid`, sometimes `invalid`: each object has a few chances to be wrong. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: invalid });

/** An integer in [min, max], or just outside it, or not an integer at all. */
const nearRange = (min: number, max: number): fc.Arbitrary<unknown> =>
  mostly(fc.integer({ min, max }), fc.constantFrom(min - 1, max + 1, '7', 2.5, true));

const name = mostly(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
  fc.constantFrom('Upper', 'under_score', '-dash', 'a'.repeat(254), 'dot.ted'),
);

const capability = mostly(
  fc.constantFrom('gpu', 'code-review', 'typescript', 'python3', 'lang.go', 'x'),
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('GPU', 'a b', '-x', 'x-', 'c'.repeat(64))),
);

const capabilities = mostly(fc.uniqueArray(capability, { maxLength: 4 }), fc.array(capability, { maxLength: 4 }));

const maybeUnknownField = mostly(fc.constant({}), fc.constantFrom({ replicas: 2 }, { Priority: 1 }));

const quantity = mostly(fc.constantFrom(1, '500m', '2', '1.5', '1Gi', '512Mi'), fc.constantFrom('lots', -1, '1 Gi', 2.5));

const envVar = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      name: mostly(fc.constantFrom('A', 'LLM_MODEL', 'x.y'), fc.constantFrom('bad name', '')),
      value: fc.string({ maxLength: 8 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      name: fc.constant('API_KEY'),
      valueFrom: fc.record({ secretKeyRef: fc.record({ name, key: mostly(fc.constantFrom('k', 'api-key'), fc.constant('')) }) }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ name: 'BOTH', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }) },
);

const heartbeat = mostly(
  fc.integer({ min: 1, max: 100 }).map((interval) => ({ intervalSeconds: interval, timeoutSeconds: interval * 3 })),
  fc.record({ intervalSeconds: nearRange(1, 300), timeoutSeconds: nearRange(2, 3600) }, { requiredKeys: [] }),
);

// The fields that place a workload, shaped for the runtime that takes them, and now and
// then one the other runtime refuses.
const gpus = mostly(fc.constantFrom(1, '2', 0), fc.constantFrom('500m', 1.5, -1));
const mountPath = mostly(fc.constantFrom('/workspace', '/home/agent/work'), fc.constantFrom('/tmp', 'work', '/var/run', '/'));
const commonFields = {
  workingDir: mostly(fc.constantFrom('/workspace', '/app'), fc.constant('src')),
  runtimeClassName: mostly(fc.constantFrom('gvisor', 'runsc'), fc.constant('Not_A_Name')),
};
const kubernetesFields = fc.record(
  {
    ...commonFields,
    workspace: mostly(
      fc.record(
        { mountPath, size: mostly(fc.constantFrom('1Gi', 10), fc.constant('lots')), storageClassName: fc.constantFrom('fast', 'standard') },
        { requiredKeys: ['size'] },
      ),
      fc.constantFrom({ ephemeral: true, size: '1Gi' }, {}, { ephemeral: true, storageClassName: 'fast' }),
    ),
    resources: fc.record({ limits: fc.record({ cpu: quantity, 'nvidia.com/gpu': gpus, 'example.com/fpga': gpus }, { requiredKeys: [] }) }),
    nodeSelector: mostly(
      fc.constantFrom({ disk: 'ssd' }, { 'kubernetes.io/arch': 'amd64' }),
      fc.constantFrom({ 'bad key': 'x' }, { disk: 'not a value' }),
    ),
    tolerations: mostly(
      fc.constantFrom([{ key: 'gpu', operator: 'Exists' }], [{ operator: 'Exists' }]),
      fc.constantFrom([{ value: 'v' }], [{ key: 'k', operator: 'Exists', value: 'v' }]),
    ),
    affinity: mostly(fc.constant({ nodeAffinity: { anything: [1] } }), fc.constant({ nodeAfinity: {} })),
    imagePullSecrets: mostly(fc.constantFrom([{ name: 'regcred' }]), fc.constantFrom([{ name: 'Reg' }], [{ name: 'a' }, { name: 'a' }])),
    serviceAccount: mostly(
      fc.constant({ annotations: { 'iam.gke.io/gcp-service-account': 'a@b' } }),
      fc.constant({ annotations: { 'bad key': 'x' } }),
    ),
  },
  { requiredKeys: [] },
);
const dockerFields = fc.record(
  {
    ...commonFields,
    workspace: mostly(fc.record({ mountPath, ephemeral: fc.boolean() }, { requiredKeys: [] }), fc.constant({ size: '1Gi' })),
    resources: fc.record(
      {
        requests: fc.record({ 'nvidia.com/gpu': gpus }),
        limits: fc.record({ memory: quantity, 'nvidia.com/gpu': gpus }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const crossedFields = fc.constantFrom(
  { nodeSelector: { a: 'b' } },
  { workspace: { size: '1Gi' } },
  { workspace: {} },
  { resources: { limits: { 'example.com/fpga': 1 } } },
  { serviceAccount: {} },
);

const runtime = fc
  .record(
    {
      type: mostly(fc.constantFrom('kubernetes', 'docker'), fc.constant('vm')),
      image: mostly(fc.constantFrom('agent-orchestrator/runner:latest', 'r'), fc.constant('')),
      command: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
      env: fc.uniqueArray(envVar, { maxLength: 3, selector: (e) => e.name }),
      resources: fc.record({ limits: fc.record({ cpu: quantity, memory: quantity }, { requiredKeys: [] }) }, { requiredKeys: [] }),
      docker: fc.record({
        host: mostly(
          fc.constantFrom('unix:///var/run/docker.sock', 'tcp://127.0.0.1:2375'),
          fc.constantFrom('/var/run/docker.sock', 'unix:// x'),
        ),
      }),
    },
    { requiredKeys: ['type', 'image'] },
  )
  .chain((r) =>
    fc
      .tuple(r.type === 'docker' ? dockerFields : kubernetesFields, mostly(fc.constant({}), crossedFields))
      .map(([fields, crossed]) => ({ ...r, ...fields, ...crossed })),
  );

const agentSpec = fc
  .tuple(
    fc.record(
      {
        capabilities,
        runtime,
        maxConcurrentTasks: nearRange(1, 1000),
        desiredState: mostly(fc.constantFrom('Active', 'Sleeping'), fc.constant('Awake')),
        heartbeat,
        context: fc.record(
          { windowTokens: nearRange(1, 100_000_000), compactAtPercent: nearRange(1, 100) },
          { requiredKeys: ['windowTokens'] },
        ),
      },
      { requiredKeys: ['runtime'] },
    ),
    maybeUnknownField,
  )
  .map(([spec, extra]) => ({ ...spec, ...extra }));

const taskObject = fc
  .tuple(
    name,
    fc.record(
      {
        requiredCapabilities: capabilities,
        preferredCapabilities: capabilities,
        priority: nearRange(0, 1000),
        input: mostly(fc.string({ maxLength: 40 }), fc.constant(7)),
        payload: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        timeoutSeconds: nearRange(1, 604800),
        retries: fc.record({ max: nearRange(0, 100), backoffSeconds: nearRange(0, 86400) }, { requiredKeys: [] }),
        dependsOn: mostly(fc.uniqueArray(name, { maxLength: 3 }), fc.array(name, { maxLength: 3 })),
        affinity: fc.record(
          { agent: name, contextKey: mostly(fc.string({ minLength: 1, maxLength: 10 }), fc.constant('')) },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    ),
    maybeUnknownField,
    mostly(fc.constant(false), fc.constant(true)),
  )
  .map(([taskName, spec, extra, selfDependent]) => ({
    apiVersion: API_VERSION,
    kind: 'Task',
    metadata: { name: taskName },
    spec: {
      ...spec,
      ...extra,
      ...(selfDependent && Array.isArray(spec.dependsOn) ? { dependsOn: [...(spec.dependsOn as unknown[]), taskName] } : {}),
    },
  }));

describe('zod schemas and the API server agree', () => {
  beforeAll(installCrds);
  const ns = useNamespace('agree-');
  let custom: Custom;
  beforeAll(() => {
    custom = new Custom(adminKubeConfig(), ns.name);
  });

  const agreeOn = async (obj: Obj, zodAccepts: boolean): Promise<void> => {
    const rejection = await custom.rejection(obj);
    const serverAccepts = rejection === undefined;
    expect(serverAccepts, `zod ${zodAccepts ? 'accepts' : 'rejects'}, server said: ${rejection ?? 'ok'}\nfor ${JSON.stringify(obj)}`).toBe(
      zodAccepts,
    );
  };

  it('on generated Agents', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(name, agentSpec, async (agentName, spec) => {
        const obj = { apiVersion: API_VERSION, kind: 'Agent', metadata: { name: agentName }, spec };
        const ok = agent.safeParse(obj).success;
        if (ok) accepted++;
        await agreeOn(obj, ok);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Both outcomes must be well represented, or the property proves little.
    expect(accepted).toBeGreaterThan(RUNS / 10);
    expect(accepted).toBeLessThan(RUNS - RUNS / 10);
  });

  it('on generated Tasks', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(taskObject, async (obj) => {
        const ok = task.safeParse(obj).success;
        if (ok) accepted++;
        await agreeOn(obj, ok);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(accepted).toBeGreaterThan(RUNS / 10);
    expect(accepted).toBeLessThan(RUNS - RUNS / 10);
  });
});
