import { describe, expect, it } from 'vitest';
import { agentFinding, policyFinding, refusalReason, taskFinding, type Obj } from './reported.ts';

const world = { agents: new Set(['worker']), tasks: new Set(['build', 'test']) };
const scheduled = (reason: string, message: string): Obj['status'] => ({
  phase: reason.startsWith('Dependenc') ? 'Blocked' : 'Pending',
  conditions: [{ type: 'Scheduled', status: 'False', reason, message }],
});
const backingOff = scheduled('BackingOff', 'attempt 1 failed (exit code 3); retry 1 of 86 at 2999-01-01T00:00:00Z');
const task = (spec: Record<string, unknown>, status: Obj['status']): Obj => ({
  metadata: { name: 't' },
  spec,
  ...(status ? { status } : {}),
});

describe('taskFinding', () => {
  it.each<[string, Obj, boolean]>([
    ['no phase', task({}, undefined), false],
    ['Pending saying why', task({}, scheduled('Unschedulable', '0/1 agents can run it: 1 at capacity')), true],
    ['Pending without a condition', task({}, { phase: 'Pending' }), false],
    [
      'pinned to a missing agent, named',
      task({ affinity: { agent: 'ghost' } }, scheduled('Unschedulable', '0/1: 1 not the pinned agent ghost')),
      true,
    ],
    [
      'pinned to a missing agent, not named',
      task({ affinity: { agent: 'ghost' } }, scheduled('Unschedulable', '0/1: 1 at capacity')),
      false,
    ],
    [
      'pinned to a missing agent, every agent lacks a capability first',
      task({ affinity: { agent: 'ghost' } }, scheduled('Unschedulable', '0/1: 1 lack capability gpu')),
      true,
    ],
    [
      'pinned to an agent gone since its attempt failed there, backing off',
      task({ affinity: { agent: 'ghost' } }, { ...backingOff, retryAt: '2999-01-01T00:00:00Z' }),
      true,
    ],
    [
      'pinned to a missing agent, still saying it backs off past its retry time',
      task({ affinity: { agent: 'ghost' } }, { ...backingOff, retryAt: '2000-01-01T00:00:00Z' }),
      false,
    ],
    [
      'Blocked on a missing task, named',
      task({ dependsOn: ['build', 'gone'] }, scheduled('DependencyMissing', 'waiting for gone to be created')),
      true,
    ],
    ['Blocked on a missing task, not named', task({ dependsOn: ['gone'] }, scheduled('DependencyMissing', 'waiting')), false],
    [
      'Blocked without a Dependencies reason',
      task(
        { dependsOn: ['build'] },
        { phase: 'Blocked', conditions: [{ type: 'Scheduled', status: 'False', reason: 'Unschedulable', message: 'x' }] },
      ),
      false,
    ],
    ['Running on an agent that exists', task({}, { phase: 'Running', assignment: { agent: 'worker' } }), true],
    ['Running on an agent that is gone', task({}, { phase: 'Running', assignment: { agent: 'gone' } }), false],
    ['Failed with a reason', task({}, { phase: 'Failed', history: [{ reason: 'exit code 3' }] }), true],
    ['Failed without any', task({}, { phase: 'Failed' }), false],
    ['Succeeded', task({}, { phase: 'Succeeded' }), true],
  ])('%s', (_what, t, reported) => {
    expect(taskFinding(t, world) === undefined).toBe(reported);
  });
});

describe('agentFinding', () => {
  const now = Date.UTC(2026, 11, 1, 12);
  const ready = (status: string, message: string): { type: string; status: string; reason: string; message: string }[] => [
    { type: 'Ready', status, reason: 'X', message },
  ];
  it.each<[string, Obj, boolean]>([
    ['no phase', { metadata: {} }, false],
    ['Ready', { metadata: {}, status: { phase: 'Ready', conditions: ready('True', '') } }, true],
    ['Failed saying why', { metadata: {}, status: { phase: 'Failed', conditions: ready('False', 'image missing') } }, true],
    ['Failed, silent', { metadata: {}, status: { phase: 'Failed', conditions: ready('False', '') } }, false],
    ['a phase without Ready', { metadata: {}, status: { phase: 'Pending' } }, false],
    ['deleted a moment ago', { metadata: { deletionTimestamp: new Date(now - 5_000).toISOString() } }, true],
    ['deleted long ago and still there', { metadata: { deletionTimestamp: new Date(now - 600_000).toISOString() } }, false],
  ])('%s', (_what, a, reported) => {
    expect(agentFinding(a, now, 90_000) === undefined).toBe(reported);
  });
});

describe('policyFinding', () => {
  const policy = (generation: number, observed: number, status: string, reason: string, message: string): Obj => ({
    metadata: { generation },
    status: { observedGeneration: observed, conditions: [{ type: 'Ready', status, reason, message }] },
  });
  it.each<[string, Obj, boolean]>([
    ['applied', policy(2, 2, 'True', 'Applied', 'routing Balanced'), true],
    ['behind the spec', policy(3, 2, 'True', 'Applied', ''), false],
    ['invalid plugin settings naming the field', policy(1, 1, 'False', 'InvalidPluginConfig', 'spec.plugins.hooks.endpoints: ...'), true],
    ['invalid plugin settings naming nothing', policy(1, 1, 'False', 'InvalidPluginConfig', 'bad'), false],
    ['superseded, saying by whom', policy(1, 1, 'False', 'Superseded', 'policy a governs'), true],
    ['no condition', { metadata: { generation: 1 } }, false],
  ])('%s', (_what, p, reported) => {
    expect(policyFinding(p) === undefined).toBe(reported);
  });
});

describe('refusalReason', () => {
  it.each([
    [
      'Task.agents.orchestrator.dev "t" is invalid: [spec.requiredCapabilities: Too many: 40: must have at most 32 items, spec.requiredCapabilities[3]: Invalid value: "A"]',
      'spec.requiredCapabilities: Too many + spec.requiredCapabilities[*]: Invalid value',
    ],
    ['the request is too large', '413 RequestEntityTooLarge'],
  ])('%s', (message, want) => {
    expect(
      refusalReason(message.includes('large') ? 413 : 422, message.includes('large') ? 'RequestEntityTooLarge' : 'Invalid', message),
    ).toBe(want);
  });
});
