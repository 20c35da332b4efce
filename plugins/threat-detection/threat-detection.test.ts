import { describe, expect, it } from 'vitest';
import type { AgentObject, Intent, NamespaceSnapshot, TaskObject } from '../../operator/src/framework/index.ts';
import { agent, cycleState, NOW, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { CONDITION, FILTER_REASON, REASON, RELEASE_ANNOTATION, threatDetection, threatDetectionConfig } from './index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
type Status = NonNullable<AgentObject['status']>;

function agentObject(name: string, status: Status = {}, annotations?: Record<string, string>): AgentObject {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...(annotations ? { annotations } : {}) },
    spec: {
      capabilities: [],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status,
  };
}

const taskObject = (name: string, agentName: string): TaskObject => ({
  metadata: { name, namespace: 'ns', uid: `uid-${name}` },
  spec: { requiredCapabilities: [], priority: 100, timeoutSeconds: 3600, cancel: false },
  status: { phase: 'Running', assignment: { agent: agentName, attempt: 1, assignedAt: iso(NOW) } },
});

const refused = (name: string, count: number): Status['refusals'] => ({
  reported: { total: count, recent: [{ time: iso(NOW - 1000), verb: 'get', resource: 'tasks', name, namespace: 'ns', count }] },
});

function tick(agents: AgentObject[], config: Record<string, unknown> = {}, tasks: TaskObject[] = []): Intent[] {
  const lifecycle = threatDetection.create(config).lifecycle;
  const snapshot: NamespaceSnapshot = { now: NOW, namespace: 'ns', agents, tasks };
  return [...(lifecycle?.onTick?.(snapshot) ?? [])];
}

/** The agent as the host leaves it after carrying out the condition intents. */
function written(a: AgentObject, intents: Intent[]): AgentObject {
  const c = intents.find((i) => i.kind === 'condition');
  if (c?.kind !== 'condition') return a;
  const condition = { ...c.condition, lastTransitionTime: iso(c.since ?? NOW) };
  return { ...a, status: { ...a.status, conditions: [condition] } };
}

const kinds = (intents: Intent[]): string[] => intents.filter((i) => i.kind !== 'metric').map((i) => i.kind);

describe('threat-detection', () => {
  it('filters out a quarantined agent only', () => {
    const routing = routingOf(threatDetection);
    const filter = (conditions: NonNullable<AgentFields['conditions']>): string => {
      const s = routing.filter?.(task('t'), agent('a', { conditions }), cycleState());
      return s?.code === 'Success' ? 'ok' : `${s?.code}: ${s?.reason}`;
    };
    expect(filter({})).toBe('ok');
    expect(filter({ [CONDITION]: { status: 'False', reason: REASON.released } })).toBe('ok');
    expect(filter({ [CONDITION]: { status: 'True', reason: REASON.quarantined } })).toBe(`UnschedulableAndUnresolvable: ${FILTER_REASON}`);
  });

  it('quarantines once: a Warning Event on the change, none on the ticks after (an operator restart included)', () => {
    const alice = agentObject('alice', { refusals: refused('bobs-task', 7) });
    const first = tick([alice]);
    expect(kinds(first)).toEqual(['condition', 'event']);
    const event = first.find((i) => i.kind === 'event');
    expect(event).toMatchObject({ type: 'Warning', reason: REASON.quarantined });
    expect(event?.kind === 'event' && event.message).toMatch(
      /^agent-alice tried get tasks bobs-task in ns \(403\) 7 times in 60s: quarantined/,
    );
    // A new operator derives the same from the written condition: no second Event.
    const again = tick([written(alice, first)]);
    expect(kinds(again)).toEqual(['condition']);
    expect(again.find((i) => i.kind === 'condition')).toEqual(first.find((i) => i.kind === 'condition'));
  });

  it('does not count refusals of the agent’s own tasks (RBAC’s cache lags its Role)', () => {
    const alice = agentObject('alice', { refusals: refused('a1', 50) });
    expect(kinds(tick([alice], {}, [taskObject('a1', 'alice')]))).toEqual([]);
    expect(kinds(tick([alice], {}, [taskObject('a1', 'bob')]))).toEqual(['condition', 'event']);
  });

  it('with action Stop puts the agent to sleep while quarantined, and wakes it on release', () => {
    const alice = agentObject('alice', { refusals: refused('bobs-task', 7) });
    const first = tick([alice], { action: 'Stop' });
    expect(first.find((i) => i.kind === 'agent')).toMatchObject({ action: 'sleep', agent: 'alice' });
    const held = written(alice, first);
    expect(tick([held], { action: 'Stop' }).find((i) => i.kind === 'agent')).toMatchObject({ action: 'sleep' });
    const released = agentObject('alice', held.status, { [RELEASE_ANNOTATION]: iso(NOW) });
    const after = tick([released], { action: 'Stop' });
    expect(after.filter((i) => i.kind === 'agent')).toMatchObject([{ action: 'wake' }]);
    expect(after.find((i) => i.kind === 'event')).toMatchObject({ type: 'Normal', reason: REASON.released });
  });

  it('exports the count and the quarantine as gauges', () => {
    const metrics = tick([agentObject('alice', { refusals: refused('bobs-task', 3) })]).filter((i) => i.kind === 'metric');
    expect(metrics).toMatchObject([
      { name: 'threat_refusals', labels: { agent: 'alice' }, value: 3 },
      { name: 'threat_quarantined', labels: { agent: 'alice' }, value: 0 },
    ]);
  });

  it('names the field of a bad setting', () => {
    const r = threatDetectionConfig.safeParse({ threshold: 0, action: 'Kill' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['action', 'threshold']);
  });
});
