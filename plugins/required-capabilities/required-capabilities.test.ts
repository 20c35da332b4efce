import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { passes, type AgentIndex } from '../../operator/src/framework/index.ts';
import { agent, agentIndex, cycleState, routingOf, task, type AgentFields, type TaskFields } from '../../operator/src/framework/testing.ts';
import { requiredCapabilities } from './index.ts';

const routing = routingOf(requiredCapabilities);

function verdict(t: TaskFields, a: AgentFields): string {
  const status = routing.filter?.(task('t', t), agent('a', a), cycleState());
  if (status === undefined) throw new Error('required-capabilities has no filter');
  return status.code === 'Success' ? 'ok' : `${status.code}: ${status.reason ?? ''}`;
}

const indexOf = agentIndex;

/** The agent keys PreFilter keeps, or 'Skip'. */
function preFiltered(required: string[], index: AgentIndex): string[] | 'Skip' {
  const result = routing.preFilter?.(task('t', { required }), index, cycleState());
  if (result === undefined) throw new Error('required-capabilities has no preFilter');
  if (result.status?.code === 'Skip') return 'Skip';
  expect(passes(result.status)).toBe(true);
  if (result.agents === undefined) throw new Error('preFilter neither skipped nor narrowed');
  return result.agents.map((a) => a.key).sort();
}

describe('required-capabilities filter', () => {
  it.each([
    ['no requirements', [], [], 'ok'],
    ['all present', ['gpu', 'ts'], ['ts', 'gpu', 'py'], 'ok'],
    ['one missing', ['gpu', 'ts'], ['ts'], 'UnschedulableAndUnresolvable: lack capability gpu'],
    ['several missing: the first in sorted order', ['ts', 'gpu', 'py'], [], 'UnschedulableAndUnresolvable: lack capability gpu'],
    ['agent without capabilities', ['review'], [], 'UnschedulableAndUnresolvable: lack capability review'],
  ] as [string, string[], string[], string][])('%s', (_case, required, capabilities, expected) => {
    expect(verdict({ required }, { capabilities })).toBe(expected);
  });
});

describe('required-capabilities preFilter', () => {
  const agents = [
    agent('gpu', { capabilities: ['gpu'] }),
    agent('gpu-ts', { capabilities: ['gpu', 'ts'] }),
    agent('gpu-ts-py', { capabilities: ['py', 'gpu', 'ts'] }),
    agent('none'),
    agent('ts', { capabilities: ['ts'] }),
  ];
  const index = indexOf(agents);

  it('skips (and so skips its filter) when the task requires nothing', () => {
    expect(routing.preFilter?.(task('t'), index, cycleState())).toEqual({ status: { code: 'Skip' } });
  });

  it.each([
    ['one capability', ['gpu'], ['ns/gpu', 'ns/gpu-ts', 'ns/gpu-ts-py']],
    ['two: the agents holding both', ['gpu', 'ts'], ['ns/gpu-ts', 'ns/gpu-ts-py']],
    ['order of the list does not matter', ['ts', 'gpu'], ['ns/gpu-ts', 'ns/gpu-ts-py']],
    ['three', ['ts', 'py', 'gpu'], ['ns/gpu-ts-py']],
    ['listed twice', ['ts', 'ts'], ['ns/gpu-ts', 'ns/gpu-ts-py', 'ns/ts']],
    ['nobody holds one of them: empty', ['gpu', 'cuda'], []],
    ['nobody holds it: empty', ['cuda'], []],
  ] as [string, string[], string[]][])('%s', (_case, required, expected) => {
    expect(preFiltered(required, index)).toEqual(expected);
  });

  it('reads the capability index, not the list of agents', () => {
    const byIndexOnly: AgentIndex = { ...agentIndex([]), withCapability: (c) => index.withCapability(c) };
    expect(preFiltered(['gpu', 'ts'], byIndexOnly)).toEqual(['ns/gpu-ts', 'ns/gpu-ts-py']);
  });

  it('keeps exactly the agents its filter lets through', () => {
    const caps = fc.subarray(['a', 'b', 'c', 'd']);
    fc.assert(
      fc.property(fc.array(caps, { maxLength: 6 }), caps, (agentCaps, required) => {
        const all = agentCaps.map((capabilities, i) => agent(`a${i}`, { capabilities }));
        const kept = preFiltered(required, indexOf(all));
        const passing = all.filter((a) => routing.filter?.(task('t', { required }), a, cycleState()).code === 'Success');
        if (required.length === 0) expect(kept).toBe('Skip');
        else expect(kept).toEqual(passing.map((a) => a.key).sort());
      }),
    );
  });
});

it('has no settings', () => {
  expect(() => routingOf(requiredCapabilities, { strict: true })).toThrow();
});
