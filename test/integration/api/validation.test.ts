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
  ['an empty image', anAgent({ runtime: { ...runtime, image: '' } }), /spec\.runtime\.image: Invalid value: "": spec\.runtime\.image in body should be at least 1 chars long/],
  ['an unknown runtime', anAgent({ runtime: { ...runtime, type: 'vm' } }), /spec\.runtime\.type: Unsupported value: "vm": supported values: "kubernetes", "docker"/],
  ['an upper-case capability', anAgent({ runtime, capabilities: ['GPU'] }), /spec\.capabilities\[0\]: Invalid value: "GPU"/],
  ['a duplicate capability', anAgent({ runtime, capabilities: ['gpu', 'gpu'] }), /spec\.capabilities\[1\]: Duplicate value: "gpu"/],
  ['too many capabilities', anAgent({ runtime, capabilities: Array.from({ length: 65 }, (_, i) => `c${i}`) }), /spec\.capabilities: Too many: 65: must have at most 64 items/],
  ['zero concurrent tasks', anAgent({ runtime, maxConcurrentTasks: 0 }), /spec\.maxConcurrentTasks: Invalid value: 0: spec\.maxConcurrentTasks in body should be greater than or equal to 1/],
  ['concurrency as a string', anAgent({ runtime, maxConcurrentTasks: 'two' }), /spec\.maxConcurrentTasks: Invalid value: "string": spec\.maxConcurrentTasks in body must be of type integer/],
  ['a fractional concurrency', anAgent({ runtime, maxConcurrentTasks: 1.5 }), /spec\.maxConcurrentTasks: Invalid value: "number": spec\.maxConcurrentTasks in body must be of type integer/],
  ['an unknown desired state', anAgent({ runtime, desiredState: 'Asleep' }), /spec\.desiredState: Unsupported value: "Asleep"/],
  ['a heartbeat timeout below its interval', anAgent({ runtime, heartbeat: { intervalSeconds: 40 } }), /spec\.heartbeat\.timeoutSeconds: Invalid value: "object": heartbeat\.timeoutSeconds must be greater than intervalSeconds/],
  ['an env var with value and valueFrom', anAgent({ runtime: { ...runtime, env: [{ name: 'K', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] } }), /spec\.runtime\.env\[0\]: Invalid value: "object": set either value or valueFrom, not both/],
  ['a docker host that is a path', anAgent({ runtime: { ...runtime, docker: { host: '/var/run/docker.sock' } } }), /spec\.runtime\.docker\.host: Invalid value: "\/var\/run\/docker\.sock"/],
  ['a CPU limit that is not a quantity', anAgent({ runtime: { ...runtime, resources: { limits: { cpu: 'lots' } } } }), /spec\.runtime\.resources\.limits\.cpu: Invalid value: "lots"/],
  ['compaction above 100%', anAgent({ runtime, context: { windowTokens: 1000, compactAtPercent: 101 } }), /spec\.context\.compactAtPercent: Invalid value: 101/],
  ['an unknown field in an Agent spec', anAgent({ runtime, replicas: 3 }), /unknown field "spec\.replicas"/],
  ['an Agent name longer than a label', anAgent({ runtime }, 'a'.repeat(64)), /metadata\.name: Too long: may not be more than 63|metadata\.name: Invalid value/],
  ['priority above 1000', aTask({ priority: 1001 }), /spec\.priority: Invalid value: 1001: spec\.priority in body should be less than or equal to 1000/],
  ['negative priority', aTask({ priority: -1 }), /spec\.priority: Invalid value: -1/],
  ['a capability with a space', aTask({ requiredCapabilities: ['code review'] }), /spec\.requiredCapabilities\[0\]: Invalid value: "code review"/],
  ['a task that depends on itself', aTask({ dependsOn: ['lint', 'bad-task'] }), /spec\.dependsOn: Invalid value: "object": a Task cannot depend on itself: remove its own name from spec\.dependsOn/],
  ['a dependency that is not a name', aTask({ dependsOn: ['Build_Step'] }), /spec\.dependsOn\[0\]: Invalid value: "Build_Step"/],
  ['a zero timeout', aTask({ timeoutSeconds: 0 }), /spec\.timeoutSeconds: Invalid value: 0/],
  ['too many retries', aTask({ retries: { max: 101 } }), /spec\.retries\.max: Invalid value: 101/],
  ['input that is not a string', aTask({ input: 42 }), /spec\.input: Invalid value: "integer": spec\.input in body must be of type string/],
  ['an unknown affinity field', aTask({ affinity: { node: 'n1' } }), /unknown field "spec\.affinity\.node"/],
  ['minAgents above maxAgents', aPool({ minAgents: 5, maxAgents: 2 }), /spec\.autoscaling\.pools\[0\]\.minAgents: Invalid value: "object": minAgents must be less than or equal to maxAgents: lower minAgents or raise maxAgents/],
  ['scaleToZero with a floor', aPool({ minAgents: 1, scaleToZero: true }), /spec\.autoscaling\.pools\[0\]\.scaleToZero: Invalid value: "object": scaleToZero needs minAgents: 0/],
  ['two pools with one name', aPolicy({ autoscaling: { pools: [{ name: 'p', template }, { name: 'p', template }] } }), /spec\.autoscaling\.pools\[1\]: Duplicate value: \{"name":"p"\}/],
  ['a pool template with a bad heartbeat', aPool({ template: { ...template, heartbeat: { intervalSeconds: 60, timeoutSeconds: 10 } } }), /spec\.autoscaling\.pools\[0\]\.template\.heartbeat\.timeoutSeconds: Invalid value: "object"/],
  ['an unknown routing strategy', aPolicy({ routing: { strategy: 'Random' } }), /spec\.routing\.strategy: Unsupported value: "Random"/],
  ['a plugin key that is not a name', aPolicy({ plugins: { 'Context Window': {} } }), /spec\.plugins: Invalid value: "object": plugin names are lowercase letters, digits and '-'/],
  ['a zero failure threshold', aPolicy({ circuitBreaker: { failureThreshold: 0 } }), /spec\.circuitBreaker\.failureThreshold: Invalid value: 0/],
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

  it('keeps an Agent’s runtime type immutable', async () => {
    const created = await custom.create(anAgent({ runtime }, 'immutable-runtime'));
    const moved = { ...created, spec: { ...(created.spec as Obj), runtime: { ...runtime, type: 'docker' } } };
    const err = await custom.replace(moved).then(() => undefined, messageOf);
    expect(err).toMatch(/spec\.runtime\.type: Invalid value: "object": spec\.runtime\.type is immutable: delete the Agent and create it again/);
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
    expect(err).toMatch(/spec\.requiredCapabilities: Invalid value: "object": spec\.requiredCapabilities is immutable once the task is assigned/);
    const reprioritised = await custom.replace({ ...assigned, spec: { ...(assigned.spec as Obj), priority: 900 } });
    expect((reprioritised.spec as Obj).priority).toBe(900);
  });
});
