import { describe, expect, it } from 'vitest';
import { agent, cycleState, routingOf, task } from '../../../operator/src/framework/testing.ts';
import plugin from './index.ts';

const score = (
  config: unknown,
  taskLabels: Record<string, string> | undefined,
  agentLabels: Record<string, string> | undefined,
): number | undefined =>
  routingOf(plugin, config).score?.(
    task('t', taskLabels ? { labels: taskLabels } : {}),
    agent('a', agentLabels ? { labels: agentLabels } : {}),
    cycleState(),
  );

describe('team-score', () => {
  it.each([
    ['the task’s team', { team: 'blue' }, { team: 'blue' }, 100],
    ['another team', { team: 'blue' }, { team: 'red' }, 0],
    ['a shared agent (no team)', { team: 'blue' }, undefined, 50],
    ['a task without a team: every agent alike', undefined, { team: 'blue' }, 0],
    ['a task without a team, a shared agent', undefined, undefined, 0],
  ])('scores %s', (_case, taskLabels, agentLabels, expected) => {
    expect(score({}, taskLabels, agentLabels)).toBe(expected);
  });

  it('reads the label it is told to, and the score it gives shared agents', () => {
    const config = { label: 'example.com/team', sharedAgentScore: 80 };
    expect(score(config, { 'example.com/team': 'blue' }, { 'example.com/team': 'blue' })).toBe(100);
    expect(score(config, { 'example.com/team': 'blue' }, { team: 'blue' })).toBe(80);
    expect(score(config, { team: 'blue' }, { team: 'blue' })).toBe(0);
  });

  it('fills in defaults, so a policy may leave spec.plugins.team-score out', () => {
    expect(plugin.config.parse({})).toEqual({ label: 'team', sharedAgentScore: 50 });
  });

  it.each([
    [{ sharedAgentScore: 101 }, 'sharedAgentScore'],
    [{ label: 'not a label' }, 'label'],
    [{ lable: 'team' }, ''],
  ])('refuses %j when the policy is applied', (config, path) => {
    const result = plugin.config.safeParse(config);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
    expect(() => plugin.create(config)).toThrow();
  });

  it('is a Score plugin only, with no admission rules', () => {
    const routing = routingOf(plugin);
    expect(Object.keys(routing)).toEqual(['score']);
    expect(plugin.create({}).lifecycle).toBeUndefined();
    expect(plugin.admission).toEqual([]);
    expect(plugin.name).toBe('team-score');
  });
});
