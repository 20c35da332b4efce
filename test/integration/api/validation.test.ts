import { beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { agent } from '../../../operator/src/api/agent.ts';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { policy } from '../../../operator/src/api/policy.ts';
import { task } from '../../../operator/src/api/task.ts';
import { installCrds } from '../../support/crds.ts';
import { Custom, type Obj } from '../../support/custom.ts';
import { adminKubeConfig, messageOf, useNamespace } from '../../support/kube.ts';

const runtime = { type: 'kubernetes', image: 'agent-orchestrator/runner:latest' };
const docker = { ...runtime, type: 'docker' };
const template = { runtime };

const schemas: Record<string, z.ZodType> = { Agent: agent, Task: task, OrchestratorPolicy: policy };

const anAgent = (spec: Obj, name = 'bad-agent'): Obj => ({ apiVersion: API_VERSION, kind: 'Agent', metadata: { name }, spec });
const aTask = (spec: Obj, name = 'bad-task'): Obj => ({ apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec });
const aPolicy = (spec: Obj): Obj => ({ apiVersion: API_VERSION, kind: 'OrchestratorPolicy', metadata: { name: 'bad-policy' }, spec });
const aPool = (fields: Obj): Obj => aPolicy({ autoscaling: { pools: [{ name: 'p', template, ...fields }] } });

// Each invalid object, and the text the API server's answer must contain: the field
// path, and for rules the fix. The zod schema must reject every one of them too.
const invalid: [string, Obj, RegExp][] = [
  ['an Agent without spec', { apiVersion: API_VERSION, kind: 'Agent', metadata: { name: 'no-spec' } }, /spec: Required value/],
  ['an Agent without runtime', anAgent({}), /spec\.runtime: Required value/],
  ['an Agent without image', anAgent({ runtime: { type: 'docker' } }), /spec\.runtime\.image: Required value/],
  [
    'an empty image',
    anAgent({ runtime: { ...runtime, image: '' } }),
    /spec\.runtime\.image: Invalid value: "": spec\.runtime\.image in body should be at least 1 chars long/,
  ],
  [
    'an unknown runtime',
    anAgent({ runtime: { ...runtime, type: 'vm' } }),
    /spec\.runtime\.type: Unsupported value: "vm": supported values: "kubernetes", "docker"/,
  ],
  ['an upper-case capability', anAgent({ runtime, capabilities: ['GPU'] }), /spec\.capabilities\[0\]: Invalid value: "GPU"/],
  ['a duplicate capability', anAgent({ runtime, capabilities: ['gpu', 'gpu'] }), /spec\.capabilities\[1\]: Duplicate value: "gpu"/],
  [
    'too many capabilities',
    anAgent({ runtime, capabilities: Array.from({ length: 65 }, (_, i) => `c${i}`) }),
    /spec\.capabilities: Too many: 65: must have at most 64 items/,
  ],
  [
    'zero concurrent tasks',
    anAgent({ runtime, maxConcurrentTasks: 0 }),
    /spec\.maxConcurrentTasks: Invalid value: 0: spec\.maxConcurrentTasks in body should be greater than or equal to 1/,
  ],
  [
    'concurrency as a string',
    anAgent({ runtime, maxConcurrentTasks: 'two' }),
    /spec\.maxConcurrentTasks: Invalid value: "string": spec\.maxConcurrentTasks in body must be of type integer/,
  ],
  [
    'a fractional concurrency',
    anAgent({ runtime, maxConcurrentTasks: 1.5 }),
    /spec\.maxConcurrentTasks: Invalid value: "number": spec\.maxConcurrentTasks in body must be of type integer/,
  ],
  ['an unknown desired state', anAgent({ runtime, desiredState: 'Asleep' }), /spec\.desiredState: Unsupported value: "Asleep"/],
  [
    'a heartbeat timeout below its interval',
    anAgent({ runtime, heartbeat: { intervalSeconds: 40 } }),
    /spec\.heartbeat\.timeoutSeconds: Invalid value: "object": heartbeat\.timeoutSeconds must be greater than intervalSeconds/,
  ],
  [
    'an env var with value and valueFrom',
    anAgent({ runtime: { ...runtime, env: [{ name: 'K', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] } }),
    /spec\.runtime\.env\[0\]: Invalid value: "object": set either value or valueFrom, not both/,
  ],
  [
    'an envFrom entry with a Secret and a ConfigMap',
    anAgent({ runtime: { ...runtime, envFrom: [{ secretRef: { name: 's' }, configMapRef: { name: 'c' } }] } }),
    /spec\.runtime\.envFrom\[0\]: Invalid value: "object": set exactly one of secretRef or configMapRef in each envFrom entry/,
  ],
  [
    'an envFrom entry with neither',
    anAgent({ runtime: { ...runtime, envFrom: [{ prefix: 'P_' }] } }),
    /spec\.runtime\.envFrom\[0\]: Invalid value: "object": set exactly one of secretRef or configMapRef/,
  ],
  [
    'a docker host that is a path',
    anAgent({ runtime: { ...runtime, docker: { host: '/var/run/docker.sock' } } }),
    /spec\.runtime\.docker\.host: Invalid value: "\/var\/run\/docker\.sock"/,
  ],
  [
    'a CPU limit that is not a quantity',
    anAgent({ runtime: { ...runtime, resources: { limits: { cpu: 'lots' } } } }),
    /spec\.runtime\.resources\.limits\.cpu: Invalid value: "lots"/,
  ],
  [
    'a nodeSelector on a docker agent',
    anAgent({ runtime: { ...docker, nodeSelector: { disk: 'ssd' } } }),
    /spec\.runtime\.nodeSelector: Invalid value: "object": spec\.runtime\.nodeSelector applies to the kubernetes runtime only: a docker agent runs on its engine's host/,
  ],
  [
    'tolerations on a docker agent',
    anAgent({ runtime: { ...docker, tolerations: [{ operator: 'Exists' }] } }),
    /spec\.runtime\.tolerations: Invalid value: "object": spec\.runtime\.tolerations applies to the kubernetes runtime only/,
  ],
  [
    'affinity on a docker agent',
    anAgent({ runtime: { ...docker, affinity: { nodeAffinity: {} } } }),
    /spec\.runtime\.affinity: Invalid value: "object": spec\.runtime\.affinity applies to the kubernetes runtime only/,
  ],
  [
    'imagePullSecrets on a docker agent',
    anAgent({ runtime: { ...docker, imagePullSecrets: [{ name: 'regcred' }] } }),
    /spec\.runtime\.imagePullSecrets: Invalid value: "object": spec\.runtime\.imagePullSecrets applies to the kubernetes runtime only: a Docker engine pulls with the credentials of its own host/,
  ],
  [
    'a serviceAccount on a docker agent',
    anAgent({ runtime: { ...docker, serviceAccount: { annotations: { a: 'b' } } } }),
    /spec\.runtime\.serviceAccount: Invalid value: "object": spec\.runtime\.serviceAccount applies to the kubernetes runtime only/,
  ],
  [
    'an FPGA on a docker agent',
    anAgent({ runtime: { ...docker, resources: { limits: { 'example.com/fpga': 1 } } } }),
    /spec\.runtime\.resources: Invalid value: "object": spec\.runtime\.resources: a docker agent takes cpu, memory and nvidia\.com\/gpu/,
  ],
  [
    'half a GPU',
    anAgent({ runtime: { ...runtime, resources: { limits: { 'nvidia.com/gpu': '500m' } } } }),
    /spec\.runtime\.resources\.limits: Invalid value: "object": an extended resource such as nvidia\.com\/gpu is a whole number of devices/,
  ],
  [
    'a resource name without a domain',
    anAgent({ runtime: { ...runtime, resources: { limits: { gpu: 1 } } } }),
    /spec\.runtime\.resources\.limits: Invalid value: "object": resources are cpu, memory or an extended resource named domain\/name, such as nvidia\.com\/gpu/,
  ],
  [
    'GPU requests without limits',
    anAgent({ runtime: { ...runtime, resources: { requests: { 'nvidia.com/gpu': 1 } } } }),
    /spec\.runtime\.resources\.requests: Invalid value: "object": spec\.runtime\.resources\.requests: an extended resource \(nvidia\.com\/gpu\) must be in limits too, with the same quantity/,
  ],
  [
    'GPU requests unlike limits',
    anAgent({ runtime: { ...runtime, resources: { requests: { 'nvidia.com/gpu': 2 }, limits: { 'nvidia.com/gpu': 1 } } } }),
    /spec\.runtime\.resources\.requests: Invalid value: "object": spec\.runtime\.resources\.requests: an extended resource/,
  ],
  [
    'a kubernetes workspace without a size',
    anAgent({ runtime: { ...runtime, workspace: {} } }),
    /spec\.runtime\.workspace: Invalid value: "object": spec\.runtime\.workspace\.size is required for a persistent kubernetes workspace/,
  ],
  [
    'a docker workspace with a size',
    anAgent({ runtime: { ...docker, workspace: { size: '1Gi' } } }),
    /spec\.runtime\.workspace: Invalid value: "object": spec\.runtime\.workspace\.size, storageClassName and accessModes apply to the kubernetes runtime only/,
  ],
  [
    'a workspace on /tmp',
    anAgent({ runtime: { ...docker, workspace: { mountPath: '/tmp' } } }),
    /spec\.runtime\.workspace\.mountPath: Invalid value: "object": spec\.runtime\.workspace\.mountPath must not be \/tmp/,
  ],
  [
    'an ephemeral workspace with a storage class',
    anAgent({ runtime: { ...runtime, workspace: { ephemeral: true, storageClassName: 'fast' } } }),
    /spec\.runtime\.workspace: Invalid value: "object": spec\.runtime\.workspace\.storageClassName and accessModes are for a persistent workspace/,
  ],
  [
    'a toleration with Exists and a value',
    anAgent({ runtime: { ...runtime, tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } }),
    /spec\.runtime\.tolerations\[0\]: Invalid value: "object": a toleration with operator Exists matches any value/,
  ],
  [
    'an unknown kind of affinity',
    anAgent({ runtime: { ...runtime, affinity: { nodeAfinity: {} } } }),
    /unknown field "spec\.runtime\.affinity\.nodeAfinity"/,
  ],
  [
    'an annotation name with a space',
    anAgent({ runtime: { ...runtime, serviceAccount: { annotations: { 'role arn': 'x' } } } }),
    /spec\.runtime\.serviceAccount\.annotations: Invalid value: "object": annotation names are a name with an optional DNS prefix/,
  ],
  [
    'compaction above 100%',
    anAgent({ runtime, context: { windowTokens: 1000, compactAtPercent: 101 } }),
    /spec\.context\.compactAtPercent: Invalid value: 101/,
  ],
  ['an unknown field in an Agent spec', anAgent({ runtime, replicas: 3 }), /unknown field "spec\.replicas"/],
  [
    'an Agent name longer than a label',
    anAgent({ runtime }, 'a'.repeat(64)),
    /metadata\.name: Too long: may not be more than 63|metadata\.name: Invalid value/,
  ],
  [
    'priority above 1000',
    aTask({ priority: 1001 }),
    /spec\.priority: Invalid value: 1001: spec\.priority in body should be less than or equal to 1000/,
  ],
  ['negative priority', aTask({ priority: -1 }), /spec\.priority: Invalid value: -1/],
  [
    'a capability with a space',
    aTask({ requiredCapabilities: ['code review'] }),
    /spec\.requiredCapabilities\[0\]: Invalid value: "code review"/,
  ],
  [
    'a task that depends on itself',
    aTask({ dependsOn: ['lint', 'bad-task'] }),
    /spec\.dependsOn: Invalid value: "object": a Task cannot depend on itself: remove its own name from spec\.dependsOn/,
  ],
  ['a dependency that is not a name', aTask({ dependsOn: ['Build_Step'] }), /spec\.dependsOn\[0\]: Invalid value: "Build_Step"/],
  ['a zero timeout', aTask({ timeoutSeconds: 0 }), /spec\.timeoutSeconds: Invalid value: 0/],
  ['too many retries', aTask({ retries: { max: 101 } }), /spec\.retries\.max: Invalid value: 101/],
  ['input that is not a string', aTask({ input: 42 }), /spec\.input: Invalid value: "integer": spec\.input in body must be of type string/],
  ['an unknown affinity field', aTask({ affinity: { node: 'n1' } }), /unknown field "spec\.affinity\.node"/],
  [
    'minAgents above maxAgents',
    aPool({ minAgents: 5, maxAgents: 2 }),
    /spec\.autoscaling\.pools\[0\]\.minAgents: Invalid value: "object": minAgents must be less than or equal to maxAgents: lower minAgents or raise maxAgents/,
  ],
  [
    'scaleToZero with a floor',
    aPool({ minAgents: 1, scaleToZero: true }),
    /spec\.autoscaling\.pools\[0\]\.scaleToZero: Invalid value: "object": scaleToZero needs minAgents: 0/,
  ],
  [
    'two pools with one name',
    aPolicy({
      autoscaling: {
        pools: [
          { name: 'p', template },
          { name: 'p', template },
        ],
      },
    }),
    /spec\.autoscaling\.pools\[1\]: Duplicate value: \{"name":"p"\}/,
  ],
  [
    'a pool template with a bad heartbeat',
    aPool({ template: { ...template, heartbeat: { intervalSeconds: 60, timeoutSeconds: 10 } } }),
    /spec\.autoscaling\.pools\[0\]\.template\.heartbeat\.timeoutSeconds: Invalid value: "object"/,
  ],
  ['an unknown routing strategy', aPolicy({ routing: { strategy: 'Random' } }), /spec\.routing\.strategy: Unsupported value: "Random"/],
  [
    'a plugin key that is not a name',
    aPolicy({ plugins: { 'Context Window': {} } }),
    /spec\.plugins: Invalid value: "object": plugin names are lowercase letters, digits and '-'/,
  ],
  [
    'a zero failure threshold',
    aPolicy({ circuitBreaker: { failureThreshold: 0 } }),
    /spec\.circuitBreaker\.failureThreshold: Invalid value: 0/,
  ],
];

describe('the API server rejects invalid objects, naming the field', () => {
  beforeAll(installCrds);
  const ns = useNamespace('invalid-');
  let custom: Custom;
  beforeAll(() => {
    custom = new Custom(adminKubeConfig(), ns.name);
  });

  it.each(invalid)('%s', async (_name, obj, message) => {
    expect(await custom.rejection(obj)).toMatch(message);
    // And the operator's own schema agrees, so it never acts on what the server refuses.
    expect(schemas[String(obj.kind)]?.safeParse(obj).success).toBe(false);
  });

  it('accepts the fields of real workloads, each on the runtime that takes it, and fills in the workspace mountPath', async () => {
    const kube = await custom.create(
      anAgent(
        {
          runtime: {
            ...runtime,
            workspace: { size: '10Gi', storageClassName: 'fast' },
            workingDir: '/workspace',
            resources: { requests: { cpu: '1', 'nvidia.com/gpu': 1 }, limits: { 'nvidia.com/gpu': 1, 'example.com/fpga': '2' } },
            nodeSelector: { 'kubernetes.io/arch': 'amd64' },
            tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a100'] }] }],
                },
              },
            },
            imagePullSecrets: [{ name: 'regcred' }],
            runtimeClassName: 'gvisor',
            serviceAccount: { annotations: { 'iam.gke.io/gcp-service-account': 'coder@project.iam.gserviceaccount.com' } },
          },
        },
        'real-kube',
      ),
    );
    const kubeRuntime = (kube.spec as { runtime: Obj }).runtime;
    expect(kubeRuntime.workspace).toEqual({ mountPath: '/workspace', size: '10Gi', storageClassName: 'fast' });
    // Kept as written, for the API server to check on the Pod.
    expect(kubeRuntime.affinity).toEqual({
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a100'] }] }],
        },
      },
    });
    const dock = await custom.create(
      anAgent(
        { runtime: { ...docker, workspace: {}, resources: { limits: { 'nvidia.com/gpu': 1, memory: '1Gi' } }, runtimeClassName: 'runsc' } },
        'real-docker',
      ),
    );
    expect((dock.spec as { runtime: Obj }).runtime.workspace).toEqual({ mountPath: '/workspace' });
    for (const obj of [kube, dock]) expect(agent.safeParse(obj).success).toBe(true);
  });

  it('keeps an Agent’s runtime type immutable', async () => {
    const created = await custom.create(anAgent({ runtime }, 'immutable-runtime'));
    const moved = { ...created, spec: { ...(created.spec as Obj), runtime: { ...runtime, type: 'docker' } } };
    const err = await custom.replace(moved).then(() => undefined, messageOf);
    expect(err).toMatch(
      /spec\.runtime\.type: Invalid value: "object": spec\.runtime\.type is immutable: delete the Agent and create it again/,
    );
    // Other fields stay editable.
    const resized = { ...created, spec: { ...(created.spec as Obj), maxConcurrentTasks: 3 } };
    expect(((await custom.replace(resized)).spec as Obj).maxConcurrentTasks).toBe(3);
  });

  it('freezes a Task’s required capabilities once it is assigned, not before', async () => {
    const created = await custom.create(aTask({ requiredCapabilities: ['gpu'] }, 'frozen-caps'));
    const edited = await custom.replace({ ...created, spec: { ...(created.spec as Obj), requiredCapabilities: ['gpu', 'cuda'] } });
    expect((edited.spec as Obj).requiredCapabilities).toEqual(['gpu', 'cuda']);

    const assigned = await custom.replaceStatus({
      ...edited,
      status: { phase: 'Assigned', assignment: { agent: 'gpu-runner', attempt: 1, assignedAt: '2026-11-26T05:00:00Z' } },
    });
    const err = await custom
      .replace({ ...assigned, spec: { ...(assigned.spec as Obj), requiredCapabilities: ['cpu'] } })
      .then(() => undefined, messageOf);
    expect(err).toMatch(
      /spec\.requiredCapabilities: Invalid value: "object": spec\.requiredCapabilities is immutable once the task is assigned/,
    );
    const reprioritised = await custom.replace({ ...assigned, spec: { ...(assigned.spec as Obj), priority: 900 } });
    expect((reprioritised.spec as Obj).priority).toBe(900);
  });
});
