import { describe, expect, it } from 'vitest';
import type { AgentObject, Hook, Intent, LifecyclePlugin, TaskObject } from '../../operator/src/framework/index.ts';
import { cycleState, agent as agentInfo, NOW, routingOf, task as taskInfo } from '../../operator/src/framework/testing.ts';
import { ANNOTATIONS, hooks, hooksConfig } from './index.ts';

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const URL_ = 'https://hooks.example.com/events';

/** The config's errors as the registry words them (spec.plugins.hooks.<path>: message). */
function build(config: Record<string, unknown>): string[] {
  const issues = hooksConfig.safeParse(config).error?.issues ?? [];
  const at = (path: readonly PropertyKey[]): string =>
    `spec.plugins.hooks${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys' ? i.keys.map((k) => `${at([...i.path, k])}: ${i.message}`) : [`${at(i.path)}: ${i.message}`],
  );
}

function lifecycleOf(config: Record<string, unknown>): LifecyclePlugin {
  const l = hooks.create(config).lifecycle;
  if (l === undefined) throw new Error('no lifecycle part');
  return l;
}

type TaskStatus = NonNullable<TaskObject['status']>;

function taskObject(
  status: TaskStatus | undefined,
  meta: Partial<TaskObject['metadata']> = {},
  spec: Partial<TaskObject['spec']> = {},
): TaskObject {
  return {
    metadata: { name: 't', namespace: 'ns', uid: 'uid-t', generation: 1, creationTimestamp: iso(NOW - 60_000), ...meta },
    spec: { requiredCapabilities: ['work'], priority: 100, timeoutSeconds: 3600, cancel: false, ...spec },
    ...(status ? { status } : {}),
  };
}

function agentObject(status: AgentObject['status'], meta: Partial<AgentObject['metadata']> = {}): AgentObject {
  return {
    metadata: { name: 'a', namespace: 'ns', uid: 'uid-a', creationTimestamp: iso(NOW - 3_600_000), ...meta },
    spec: {
      capabilities: ['work'],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    ...(status ? { status } : {}),
  };
}

const ctx = { now: NOW, namespace: 'ns' };
const endpoint = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'audit',
  url: URL_,
  events: ['task.*'],
  ...fields,
});

describe('config', () => {
  it('fills in the defaults', () => {
    const l = lifecycleOf({ endpoints: [endpoint()] });
    const [hook] = l.onPhase?.(taskObject({ phase: 'Pending', queuedAt: iso(NOW) }), undefined, 'Pending', ctx) ?? [];
    expect(hook).toMatchObject({ endpoint: 'audit', url: URL_, timeoutMs: 5000, retries: 3, backoffMs: 1000, failurePolicy: 'Ignore' });
    expect(hook?.signingSecret).toBeUndefined();
  });

  it('accepts no config at all (the plugin is on everywhere, and does nothing)', () => {
    expect(build({})).toEqual([]);
    const instance = hooks.create({});
    expect(instance.routing && 'permit' in instance.routing).toBe(false);
    expect(Object.keys(instance.lifecycle ?? {})).toEqual([]);
  });

  it.each([
    [
      'a URL that is not http(s)',
      { endpoints: [endpoint({ url: 'ftp://example.com/x' })] },
      'spec.plugins.hooks.endpoints[0].url: must be an http:// or https:// URL',
    ],
    [
      'no URL',
      { endpoints: [{ name: 'audit', events: ['task.*'] }] },
      'spec.plugins.hooks.endpoints[0].url: must be an http:// or https:// URL',
    ],
    [
      'an unknown event',
      { endpoints: [endpoint({ events: ['task.Done'] })] },
      'spec.plugins.hooks.endpoints[0].events[0]: must be one of task.*, task.Pending',
    ],
    [
      'a timeout over 60 s',
      { endpoints: [endpoint({ timeoutSeconds: 61 })] },
      'spec.plugins.hooks.endpoints[0].timeoutSeconds: Too big: expected number to be <=60',
    ],
    ['an unknown field', { endpoints: [endpoint({ retry: 2 })] }, 'spec.plugins.hooks.endpoints[0].retry: Unrecognized key: "retry"'],
    ['an unknown top-level field', { endpoint: {} }, 'spec.plugins.hooks.endpoint: Unrecognized key: "endpoint"'],
    [
      'a bad failure policy',
      { endpoints: [endpoint({ failurePolicy: 'Retry' })] },
      'spec.plugins.hooks.endpoints[0].failurePolicy: Invalid option: expected one of "Ignore"|"Fail"',
    ],
    [
      'a bad Secret name',
      { endpoints: [endpoint({ signingSecret: { name: 'Not_A_Name', key: 'k' } })] },
      'spec.plugins.hooks.endpoints[0].signingSecret.name: must be the name of a Secret',
    ],
    [
      'a Secret without a key',
      { endpoints: [endpoint({ signingSecret: { name: 's' } })] },
      'spec.plugins.hooks.endpoints[0].signingSecret.key: Invalid input: expected string, received undefined',
    ],
    [
      'two endpoints of one name',
      { endpoints: [endpoint(), endpoint()] },
      'spec.plugins.hooks.endpoints[1].name: another endpoint is named "audit": names must be unique',
    ],
    [
      'an endpoint with nothing to do',
      { endpoints: [endpoint({ events: [] })] },
      'spec.plugins.hooks.endpoints[0].events: names no events and is not the preAssignment endpoint',
    ],
    [
      'a gate naming no endpoint',
      { endpoints: [endpoint()], preAssignment: { endpoint: 'gate' } },
      'spec.plugins.hooks.preAssignment.endpoint: no endpoint is named "gate" (endpoints: audit)',
    ],
  ])('refuses %s, naming the field', (_case, config, message) => {
    const errors = build(config);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toContain(message);
  });

  it('lets a gate-only endpoint name no events', () => {
    expect(build({ endpoints: [endpoint({ name: 'gate', events: [] })], preAssignment: { endpoint: 'gate' } })).toEqual([]);
  });
});

describe('task events', () => {
  const l = lifecycleOf({
    endpoints: [
      endpoint({
        signingSecret: { name: 'hook-key', key: 'token' },
        failurePolicy: 'Fail',
        timeoutSeconds: 2,
        retries: 1,
        backoffSeconds: 3,
      }),
    ],
  });
  const succeeded = taskObject(
    {
      phase: 'Succeeded',
      attempts: 2,
      assignment: { agent: 'w1', attempt: 2, assignedAt: iso(NOW - 20_000) },
      startedAt: iso(NOW - 15_000),
      completedAt: iso(NOW - 1_000),
      result: { output: 'secret output', exitCode: 0 },
      history: [
        { agent: 'w0', outcome: 'Failed', reason: 'exit code 1', time: iso(NOW - 30_000) },
        { agent: 'w1', outcome: 'Succeeded', reason: 'exit code 0', time: iso(NOW - 1_000) },
      ],
    },
    {},
    { input: 'secret input' },
  );

  it('is a CloudEvent 1.0 in structured mode with a compact view of the task', () => {
    const [hook] = l.onPhase?.(succeeded, 'Running', 'Succeeded', ctx) ?? [];
    expect(hook).toEqual({
      endpoint: 'audit',
      url: URL_,
      signingSecret: { name: 'hook-key', key: 'token' },
      timeoutMs: 2000,
      retries: 1,
      backoffMs: 3000,
      failurePolicy: 'Fail',
      event: {
        specversion: '1.0',
        id: 'uid-t.succeeded.2',
        source: '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/tasks/t',
        type: 'dev.orchestrator.task.succeeded',
        subject: 't',
        time: new Date(NOW - 1_000).toISOString(),
        datacontenttype: 'application/json',
        data: {
          name: 't',
          namespace: 'ns',
          uid: 'uid-t',
          phase: 'Succeeded',
          previousPhase: 'Running',
          attempt: 2,
          agent: 'w1',
          result: { exitCode: 0 },
          reason: 'exit code 0',
        },
      },
    } satisfies Hook);
    expect(JSON.stringify(hook)).not.toMatch(/secret (input|output)/);
  });

  it.each([
    ['Pending', { phase: 'Pending', queuedAt: iso(NOW - 5_000) }, 'uid-t.pending.0', 'dev.orchestrator.task.pending', NOW - 5_000, {}],
    [
      'Pending again after a failed attempt',
      {
        phase: 'Pending',
        attempts: 1,
        queuedAt: iso(NOW - 50_000),
        history: [{ agent: 'w0', outcome: 'Failed', reason: 'exit code 3', time: iso(NOW - 4_000) }],
      },
      'uid-t.pending.1',
      'dev.orchestrator.task.pending',
      NOW - 4_000,
      { reason: 'exit code 3' },
    ],
    [
      'Assigned',
      { phase: 'Assigned', attempts: 1, assignment: { agent: 'w1', attempt: 1, assignedAt: iso(NOW - 3_000) } },
      'uid-t.assigned.1',
      'dev.orchestrator.task.assigned',
      NOW - 3_000,
      { agent: 'w1' },
    ],
    [
      'Running',
      { phase: 'Running', attempts: 1, assignment: { agent: 'w1', attempt: 1, assignedAt: iso(NOW - 3_000) }, startedAt: iso(NOW - 2_000) },
      'uid-t.running.1',
      'dev.orchestrator.task.running',
      NOW - 2_000,
      { agent: 'w1' },
    ],
    [
      'Failed for good',
      {
        phase: 'Failed',
        attempts: 1,
        assignment: { agent: 'w1', attempt: 1, assignedAt: iso(NOW - 3_000) },
        completedAt: iso(NOW - 1_000),
        result: { exitCode: 2 },
        conditions: [
          {
            type: 'Finished',
            status: 'True',
            reason: 'RetriesExhausted',
            message: 'failed 1 time: exit code 2',
            lastTransitionTime: iso(NOW - 1_000),
          },
        ],
      },
      'uid-t.failed.1',
      'dev.orchestrator.task.failed',
      NOW - 1_000,
      { agent: 'w1', result: { exitCode: 2 }, reason: 'failed 1 time: exit code 2' },
    ],
    [
      'Cancelled',
      { phase: 'Cancelled', completedAt: iso(NOW - 1_000) },
      'uid-t.cancelled.0',
      'dev.orchestrator.task.cancelled',
      NOW - 1_000,
      {},
    ],
  ] as [string, TaskStatus, string, string, number, Record<string, unknown>][])('maps %s', (_case, status, id, type, time, data) => {
    const [hook] = l.onPhase?.(taskObject(status), 'X', status.phase ?? '', ctx) ?? [];
    expect(hook?.event.id).toBe(id);
    expect(hook?.event.type).toBe(type);
    expect(hook?.event.time).toBe(new Date(time).toISOString());
    expect(hook?.event.data).toMatchObject({ phase: status.phase, previousPhase: 'X', ...data });
  });

  it('gives the same id and body for the same transition every time (retries and replays dedupe)', () => {
    const a = l.onPhase?.(succeeded, 'Running', 'Succeeded', ctx);
    const b = l.onPhase?.(succeeded, 'Running', 'Succeeded', { ...ctx, now: NOW + 60_000 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
  });

  it('sends only what each endpoint subscribes to', () => {
    const picky = lifecycleOf({
      endpoints: [
        endpoint({ name: 'all' }),
        endpoint({ name: 'ends', events: ['task.Succeeded', 'task.Failed'] }),
        endpoint({ name: 'agents', events: ['agent.*'] }),
      ],
    });
    const to = (phase: string): string[] =>
      (picky.onPhase?.(taskObject({ phase: phase as TaskStatus['phase'] }), 'X', phase, ctx) ?? []).map((h) => h.endpoint);
    expect(to('Running')).toEqual(['all']);
    expect(to('Succeeded')).toEqual(['all', 'ends']);
    expect('onPhase' in lifecycleOf({ endpoints: [endpoint({ events: ['agent.Ready'] })] })).toBe(false);
  });

  it('after a restart sends a task’s phase again only when it was entered in the last 10 minutes', () => {
    const ended = (ago: number): TaskObject => taskObject({ phase: 'Succeeded', attempts: 1, completedAt: iso(NOW - ago) });
    expect(l.onPhase?.(ended(9 * 60_000), undefined, 'Succeeded', ctx)).toHaveLength(1);
    expect(l.onPhase?.(ended(11 * 60_000), undefined, 'Succeeded', ctx)).toHaveLength(0);
    // Waiting for two hours: not news.
    expect(
      l.onPhase?.(
        taskObject({ phase: 'Pending', queuedAt: iso(NOW - 7_200_000) }, { creationTimestamp: iso(NOW - 7_200_000) }),
        undefined,
        'Pending',
        ctx,
      ),
    ).toHaveLength(0);
    // A live transition is sent whatever its timestamps say.
    expect(l.onPhase?.(ended(11 * 60_000), 'Running', 'Succeeded', ctx)).toHaveLength(1);
    // A new task's first phase counts as first seen: it is recent.
    expect(l.onPhase?.(taskObject({ phase: 'Pending', queuedAt: iso(NOW) }), undefined, 'Pending', ctx)).toHaveLength(1);
  });
});

describe('agent events', () => {
  const l = lifecycleOf({ endpoints: [endpoint({ events: ['agent.Ready', 'agent.Failed'] })] });
  const ready = (finished: number, startedAt = iso(NOW - 120_000)): AgentObject =>
    agentObject({
      phase: 'Ready',
      activeTasks: 0,
      workload: { kind: 'Pod', name: 'agent-a', startedAt },
      stats: { succeeded: finished, failed: 0, consecutiveFailures: 0 },
    });

  it('maps a phase, with an id that moves with each Busy-Ready swing and each workload start', () => {
    const [hook] = l.onAgentPhase?.(ready(4), 'Busy', 'Ready', ctx) ?? [];
    const start = Math.floor((NOW - 120_000) / 1000);
    expect(hook?.event).toMatchObject({
      id: `uid-a.ready.${start}.4`,
      source: '/apis/agents.orchestrator.dev/v1alpha1/namespaces/ns/agents/a',
      type: 'dev.orchestrator.agent.ready',
      subject: 'a',
      data: { name: 'a', namespace: 'ns', phase: 'Ready', previousPhase: 'Busy', activeTasks: 0, capabilities: ['work'] },
    });
    expect(l.onAgentPhase?.(ready(5), 'Busy', 'Ready', ctx)[0]?.event.id).toBe(`uid-a.ready.${start}.5`);
    expect(l.onAgentPhase?.(ready(4, iso(NOW - 1_000)), 'Starting', 'Ready', ctx)[0]?.event.id).toBe(`uid-a.ready.${start + 119}.4`);
    expect(l.onAgentPhase?.(ready(4), 'Ready', 'Busy', ctx)).toEqual([]);
  });

  it('after a restart sends an agent’s phase again only when something about it changed in the last 10 minutes', () => {
    expect(l.onAgentPhase?.(ready(4, iso(NOW - 120_000)), undefined, 'Ready', ctx)).toHaveLength(1);
    expect(l.onAgentPhase?.(ready(4, iso(NOW - 3_600_000)), undefined, 'Ready', ctx)).toHaveLength(0);
  });
});

describe('pre-assignment gate', () => {
  const config = {
    endpoints: [endpoint({ name: 'gate', url: 'http://gate.example/ask', events: [], failurePolicy: 'Fail' })],
    preAssignment: { endpoint: 'gate' },
  };
  const routing = routingOf(hooks, config);
  const verdict = (annotations?: Record<string, string>, generation = 3): string => {
    const s = routing.permit?.(taskInfo('t', { generation, ...(annotations ? { annotations } : {}) }), agentInfo('a'), cycleState());
    return s?.code === 'Success' ? 'ok' : `${s?.code ?? ''}: ${s?.reason ?? ''}`;
  };
  const answer = (v: string, generation: string, message = ''): Record<string, string> => ({
    [ANNOTATIONS.verdict]: v,
    [ANNOTATIONS.generation]: generation,
    [ANNOTATIONS.message]: message,
    [ANNOTATIONS.answeredAt]: iso(NOW - 1_000),
  });

  it.each([
    ['no answer', undefined, 'Wait: waiting for pre-assignment hook gate'],
    ['an answer for an older generation', answer('allow', '2'), 'Wait: waiting for pre-assignment hook gate'],
    ['an unknown verdict', answer('maybe', '3'), 'Wait: waiting for pre-assignment hook gate'],
    ['allowed', answer('allow', '3'), 'ok'],
    ['denied', answer('deny', '3', 'not on Fridays'), 'Unschedulable: vetoed by hook gate: not on Fridays'],
    ['denied without a word', answer('deny', '3'), 'Unschedulable: vetoed by hook gate: no reason given'],
    [
      'not reached (failurePolicy Fail)',
      answer('error', '3', 'the hook could not be asked: HTTP 500'),
      'Unschedulable: vetoed by hook gate: the hook could not be asked: HTTP 500',
    ],
  ])('permit: %s', (_case, annotations, expected) => {
    expect(verdict(annotations)).toBe(expected);
  });

  it('has no permit without a gate', () => {
    expect('permit' in routingOf(hooks, { endpoints: [endpoint()] })).toBe(false);
  });

  const tick = (tasks: TaskObject[], now = NOW): readonly Intent[] =>
    lifecycleOf(config).onTick?.({ now, namespace: 'ns', agents: [], tasks }) ?? [];
  const asked = (intents: readonly Intent[]): string[] => intents.flatMap((i) => (i.kind === 'hook' ? [i.hook.gate?.task ?? ''] : []));

  it('asks for each waiting task without an answer for its generation, with what will run', () => {
    const pending = taskObject(
      { phase: 'Pending' },
      { name: 'p', uid: 'uid-p', generation: 4, labels: { team: 'a' } },
      { input: 'review it' },
    );
    const intents = tick([
      pending,
      taskObject(undefined, { name: 'new' }),
      taskObject(undefined, { name: 'waits-on-deps' }, { dependsOn: ['p'] }),
      taskObject({ phase: 'Blocked' }, { name: 'blocked' }),
      taskObject({ phase: 'Running' }, { name: 'running' }),
      taskObject({ phase: 'Pending' }, { name: 'cancelled' }, { cancel: true }),
      taskObject({ phase: 'Pending' }, { name: 'answered', generation: 2, annotations: answer('deny', '2') }),
      taskObject({ phase: 'Pending' }, { name: 'stale-answer', generation: 3, annotations: answer('allow', '2') }),
    ]);
    expect(asked(intents)).toEqual(['p', 'new', 'stale-answer']);
    const first = intents[0];
    if (first?.kind !== 'hook') throw new Error('no hook');
    expect(first.hook.gate).toEqual({ task: 'p', generation: 4, annotations: ANNOTATIONS });
    expect(first.hook.failurePolicy).toBe('Fail');
    expect(first.hook.event).toMatchObject({
      id: 'uid-p.preassignment.4',
      type: 'dev.orchestrator.task.preassignment',
      data: {
        name: 'p',
        generation: 4,
        labels: { team: 'a' },
        spec: { requiredCapabilities: ['work'], priority: 100, input: 'review it' },
      },
    });
  });

  it('asks again after a failed delivery once retryFailedSeconds passed, and looks again then', () => {
    const failed = taskObject({ phase: 'Pending' }, { annotations: answer('error', '1') });
    const early = tick([failed], NOW + 30_000);
    expect(asked(early)).toEqual([]);
    expect(early).toEqual([{ kind: 'requeue', afterMs: 29_000 }]);
    expect(asked(tick([failed], NOW + 59_000))).toEqual(['t']);
  });
});
