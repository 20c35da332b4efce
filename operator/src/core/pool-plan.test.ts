import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planPool, type PoolMember, type PoolPlanInput } from './pool-plan.ts';

const NOW = 1_000_000;
const member = (name: string, o: Partial<PoolMember> = {}): PoolMember => ({
  name,
  asleep: false,
  ready: true,
  settling: false,
  active: 0,
  idleSince: NOW - 60_000,
  upToDate: true,
  ...o,
});
const input = (o: Partial<PoolPlanInput>): PoolPlanInput => ({
  desired: 0,
  maxAgents: 10,
  maxStep: 2,
  members: [],
  deleting: 0,
  now: NOW,
  ...o,
});

describe('planPool', () => {
  it.each([
    {
      name: 'creates what is missing',
      in: input({ desired: 3, members: [member('a')] }),
      want: { create: 2 },
    },
    {
      name: 'wakes sleeping agents before creating, up-to-date ones first',
      in: input({ desired: 3, members: [member('a'), member('old', { asleep: true, upToDate: false }), member('new', { asleep: true })] }),
      want: { wake: ['new', 'old'] },
    },
    {
      name: 'never creates beyond maxAgents, counting sleeping agents',
      in: input({ desired: 5, maxAgents: 4, members: [member('a'), member('b', { asleep: true }), member('c', { asleep: true })] }),
      want: { wake: ['b', 'c'], create: 1 },
    },
    {
      name: 'removes the old template first, then the idlest',
      in: input({
        desired: 1,
        members: [
          member('busy', { active: 1, idleSince: undefined }),
          member('idle-long', { idleSince: NOW - 600_000 }),
          member('old', { upToDate: false }),
          member('idle-short'),
        ],
      }),
      want: { remove: ['old', 'idle-long', 'idle-short'] },
    },
    {
      name: 'removes an agent that is not ready before a ready idle one',
      in: input({ desired: 1, members: [member('ready'), member('starting', { ready: false, settling: true, idleSince: undefined })] }),
      want: { remove: ['starting'] },
    },
    {
      name: 'with sleepAfterIdle, puts only agents idle long enough to sleep, and says when to look again',
      in: input({
        desired: 0,
        sleepAfterIdleMs: 120_000,
        members: [
          member('long', { idleSince: NOW - 300_000 }),
          member('short', { idleSince: NOW - 100_000 }),
          member('busy', { active: 2, idleSince: undefined }),
        ],
      }),
      want: { sleep: ['long'], requeueAfterMs: 20_000 },
    },
    {
      name: 'a lowered maxAgents removes sleeping agents first',
      in: input({
        desired: 2,
        maxAgents: 2,
        members: [member('a'), member('b'), member('z1', { asleep: true }), member('z2', { asleep: true })],
      }),
      want: { remove: ['z1', 'z2'] },
    },
    {
      name: 'rolls sleeping agents at once and awake ones a step at a time, idle first',
      in: input({
        desired: 3,
        maxStep: 1,
        members: [
          member('busy', { upToDate: false, active: 1, idleSince: undefined }),
          member('idle', { upToDate: false }),
          member('fresh'),
          member('zz', { asleep: true, upToDate: false }),
        ],
      }),
      want: { roll: ['zz', 'idle'] },
    },
    {
      name: 'does not roll while a step is still settling',
      in: input({ desired: 2, members: [member('a', { upToDate: false }), member('b', { settling: true })] }),
      want: {},
    },
    {
      name: 'does not roll while an agent is being deleted',
      in: input({ desired: 1, deleting: 1, members: [member('a', { upToDate: false })] }),
      want: {},
    },
    {
      name: 'a maxAwake bound puts the surplus to sleep at once, not removed, the least busy first',
      in: input({
        desired: 0,
        maxAwake: 0,
        members: [member('busy', { active: 2, idleSince: undefined }), member('fresh', { idleSince: NOW }), member('zz', { asleep: true })],
      }),
      want: { sleep: ['fresh', 'busy'] },
    },
    {
      name: 'a maxAwake bound above the desired size: the rest of the surplus follows the pool’s own rules',
      in: input({
        desired: 1,
        maxAwake: 2,
        members: [
          member('a'),
          member('b'),
          member('c', { active: 1, idleSince: undefined }),
          member('d', { active: 2, idleSince: undefined }),
        ],
      }),
      want: { sleep: ['a', 'b'], remove: ['c'] },
    },
    {
      name: 'a maxAwake bound with sleepAfterIdle: the rest waits for its idle time',
      in: input({
        desired: 0,
        maxAwake: 1,
        sleepAfterIdleMs: 120_000,
        members: [member('a', { idleSince: NOW - 10_000 }), member('b', { idleSince: NOW - 20_000 })],
      }),
      want: { sleep: ['b'], requeueAfterMs: 110_000 },
    },
    {
      name: 'does not roll in the same look as a scale',
      in: input({ desired: 2, members: [member('a', { upToDate: false })] }),
      want: { create: 1 },
    },
  ])('$name', ({ in: i, want }) => {
    expect(planPool(i)).toEqual({ create: 0, wake: [], sleep: [], remove: [], roll: [], ...want });
  });
});

const members = fc.uniqueArray(
  fc.record({
    name: fc.stringMatching(/^[a-z]{1,6}$/),
    asleep: fc.boolean(),
    ready: fc.boolean(),
    settling: fc.boolean(),
    active: fc.nat(4),
    idleSince: fc.option(fc.integer({ min: NOW - 1_000_000, max: NOW }), { nil: undefined }),
    upToDate: fc.boolean(),
  }),
  { selector: (m) => m.name, maxLength: 15 },
);
const inputs = fc.record({
  desired: fc.nat(20),
  maxAgents: fc.integer({ min: 1, max: 20 }),
  maxStep: fc.integer({ min: 1, max: 5 }),
  sleepAfterIdleMs: fc.option(fc.integer({ min: 0, max: 600_000 }), { nil: undefined }),
  members,
  deleting: fc.nat(2),
  now: fc.constant(NOW),
});

describe('planPool properties', () => {
  it('never makes the pool bigger than maxAgents', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const plan = planPool(i);
        expect(i.members.length + plan.create).toBeLessThanOrEqual(Math.max(i.maxAgents, i.members.length));
        if (plan.create > 0) expect(i.members.length + plan.create).toBeLessThanOrEqual(i.maxAgents);
      }),
    );
  });

  it('never puts a busy agent or one not idle long enough to sleep', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        for (const name of planPool(i).sleep) {
          const m = i.members.find((x) => x.name === name);
          expect(m?.active).toBe(0);
          expect(m?.asleep).toBe(false);
          expect(i.now - (m?.idleSince ?? i.now + 1)).toBeGreaterThanOrEqual(i.sleepAfterIdleMs ?? Infinity);
        }
      }),
    );
  });

  it('reaches the desired number of awake agents when nothing holds it back', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const plan = planPool({ ...i, sleepAfterIdleMs: undefined });
        const awake = i.members.filter((m) => !m.asleep).length;
        const after =
          awake + plan.wake.length + plan.create - plan.remove.filter((n) => i.members.find((m) => m.name === n)?.asleep === false).length;
        expect(after).toBe(Math.min(i.desired, i.maxAgents));
      }),
    );
  });

  it('with maxAwake, leaves at most that many awake and removes none of the agents it put to sleep', () => {
    fc.assert(
      fc.property(inputs, fc.nat(20), (i, maxAwake) => {
        const plan = planPool({ ...i, desired: Math.min(i.desired, maxAwake), maxAwake });
        const awake = i.members.filter((m) => !m.asleep).map((m) => m.name);
        const left = awake.filter((n) => !plan.sleep.includes(n) && !plan.remove.includes(n)).length + plan.wake.length + plan.create;
        expect(left).toBeLessThanOrEqual(Math.max(maxAwake, 0));
        for (const n of plan.sleep) expect(plan.remove).not.toContain(n);
      }),
    );
  });

  it('acts on each agent at most once, and rolls at most maxStep awake agents, never while scaling or settling', () => {
    fc.assert(
      fc.property(inputs, (i) => {
        const plan = planPool(i);
        const touched = [...plan.wake, ...plan.sleep, ...plan.remove, ...plan.roll];
        expect(new Set(touched).size).toBe(touched.length);
        const awakeRolled = plan.roll.filter((n) => i.members.find((m) => m.name === n)?.asleep === false);
        expect(awakeRolled.length).toBeLessThanOrEqual(i.maxStep);
        if (plan.roll.length > 0) {
          expect(plan.create + touched.length - plan.roll.length).toBe(0);
          expect(i.deleting).toBe(0);
          expect(i.members.some((m) => m.settling)).toBe(false);
          for (const n of plan.roll) expect(i.members.find((m) => m.name === n)?.upToDate).toBe(false);
        }
      }),
    );
  });
});
