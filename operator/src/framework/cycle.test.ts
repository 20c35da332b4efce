import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCycle, type CycleOptions, type NamedPlugin, type Profile } from './cycle.ts';
import { createCycleLedger, seededRandom } from './cycle-state.ts';
import { skip, success, unresolvable, unschedulable, wait } from './status.ts';
import { agent, NOW, task } from './testing.ts';
import { stateKey, type AgentInfo, type CycleResult, type ExtensionPoint, type RoutingPlugin, type TaskInfo } from './types.ts';

// The framework alone, with plugins made up for each case: what each extension point
// does, and that a failing plugin fails only the task it judged.

const named = (name: string, plugin: RoutingPlugin): NamedPlugin => ({ name, plugin });

function profile(p: Partial<Profile> = {}): Profile {
  return { preFilters: [], filters: [], postFilters: [], scorers: [], reservers: [], permits: [], ...p };
}

function cycle(tasks: TaskInfo[], agents: AgentInfo[], p: Profile, options?: CycleOptions): CycleResult {
  return runCycle({ now: NOW, tasks, agents, seed: 1 }, p, options);
}

const placed = (r: CycleResult): string[] => r.assignments.map((a) => `${a.task.name}->${a.agent.name}`);
const slots = (n: number): RoutingPlugin => ({ filter: (_t, a, s) => (s.load(a) >= n ? unschedulable('full') : success) });

describe('choosing among feasible agents', () => {
  it('breaks score ties by lower load, then lower key, whatever the snapshot order', () => {
    expect(placed(cycle([task('t')], [agent('b'), agent('c', { active: 1, maxConcurrentTasks: 5 }), agent('a')], profile()))).toEqual([
      't->a',
    ]);
    expect(placed(cycle([task('t')], [agent('b'), agent('a', { active: 2, maxConcurrentTasks: 5 })], profile()))).toEqual(['t->b']);
  });

  it('keeps a plugin’s out-of-range score from outweighing the others', () => {
    const wild = named('wild', { score: (_t, a) => (a.name === 'a' ? 1e9 : Number.NaN) });
    const fair = named('fair', { score: (_t, a) => (a.name === 'b' ? 100 : 0) });
    const p = profile({
      scorers: [
        { ...wild, weight: 1 },
        { ...fair, weight: 2 },
      ],
    });
    expect(placed(cycle([task('t')], [agent('a'), agent('b')], p))).toEqual(['t->b']);
  });

  it('calls reservers once per assignment, after the load is counted', () => {
    const seen: string[] = [];
    const p = profile({ reservers: [named('rec', { reserve: (t, a, s) => seen.push(`${t.name}->${a.name}@${s.load(a)}`) })] });
    cycle([task('t1'), task('t2')], [agent('a', { maxConcurrentTasks: 2 })], p);
    expect(seen).toEqual(['t1->a@1', 't2->a@2']);
  });

  it('gives each task a fresh per-task state that Score can leave for Normalize', () => {
    const seen: (number | undefined)[] = [];
    const key = stateKey<number>('memo');
    const memo = named('memo', {
      score(t, _a, s) {
        seen.push(s.read(key));
        s.write(key, t.priority);
        return 0;
      },
      normalize(t, _scores, s) {
        expect(s.read(key)).toBe(t.priority);
      },
    });
    cycle(
      [task('t1', { priority: 5 }), task('t2', { priority: 6 })],
      [agent('a', { maxConcurrentTasks: 2 })],
      profile({ scorers: [{ ...memo, weight: 1 }] }),
    );
    expect(seen).toEqual([undefined, undefined]);
  });
});

describe('PreFilter', () => {
  const gpu = named('gpu', {
    preFilter: (_t, agents) => ({ agents: agents.withCapability('gpu') }),
    filter: (_t, a) => (a.capabilities.has('gpu') ? success : unresolvable('no gpu')),
  });

  it('narrows the candidates; the rest get the reason from the same plugin’s Filter', () => {
    const filtered: string[] = [];
    const spy = named('spy', { filter: (_t, a) => (filtered.push(a.name), unschedulable('busy')) });
    const r = cycle(
      [task('t')],
      [agent('a'), agent('b', { capabilities: ['gpu'] }), agent('c')],
      profile({ preFilters: [gpu], filters: [gpu, spy] }),
    );
    expect(filtered).toEqual(['b']);
    expect(r.pending[0]).toMatchObject({ reasons: { 'no gpu': 2, busy: 1 }, plugins: { 'no gpu': 'gpu', busy: 'spy' } });
    expect(r.pending[0]?.message).toBe('0/3 agents can run it: 2 no gpu (gpu), 1 busy (spy)');
  });

  it('rules a whole task out with a status that names the plugin', () => {
    const never = named('quota', { preFilter: () => ({ status: unschedulable('team quota used up') }) });
    const r = cycle([task('t')], [agent('a'), agent('b')], profile({ preFilters: [never] }));
    expect(r.pending[0]).toMatchObject({ message: 'quota: team quota used up', reasons: { 'team quota used up': 2 } });
  });

  it('Skip skips the plugin’s own Filter for that task', () => {
    const skipper = named('skipper', { preFilter: () => ({ status: skip }), filter: () => unresolvable('never') });
    expect(placed(cycle([task('t')], [agent('a')], profile({ preFilters: [skipper], filters: [skipper] })))).toEqual(['t->a']);
  });

  it('Skip skips the plugin’s own Score for that task, and only for that task', () => {
    const scored: string[] = [];
    // Scores b highest, but skips the tasks not named "judged".
    const picky = named('picky', {
      preFilter: (t) => (t.name === 'judged' ? {} : { status: skip }),
      score: (t, a) => (scored.push(`${t.name}:${a.name}`), a.name === 'b' ? 100 : 0),
    });
    const p = profile({ preFilters: [picky], scorers: [{ ...picky, weight: 1 }] });
    const agents = [agent('a', { maxConcurrentTasks: 5 }), agent('b', { maxConcurrentTasks: 5 })];
    expect(placed(cycle([task('other')], agents, p))).toEqual(['other->a']);
    expect(placed(cycle([task('judged')], agents, p))).toEqual(['judged->b']);
    expect(scored).toEqual(['judged:a', 'judged:b']);
  });
});

describe('PostFilter', () => {
  it('sees every agent’s status and proposes agents to wake, merged and sorted', () => {
    const seen: string[] = [];
    const no = named('no', { filter: (_t, a) => (a.sleeping ? unschedulable('asleep') : unresolvable('wrong')) });
    const waker = (name: string): NamedPlugin =>
      named(name, {
        postFilter(_t, statuses, handle) {
          seen.push(`${name}:${[...statuses.keys()].join(',')}`);
          return { wake: handle.agents.filter((a) => statuses.get(a.key)?.reason === 'asleep').map((a) => a.key) };
        },
      });
    const r = cycle(
      [task('t')],
      [agent('z', { sleeping: true }), agent('a', { sleeping: true }), agent('m')],
      profile({ filters: [no], postFilters: [waker('w1'), waker('w2')] }),
    );
    expect(r.pending[0]?.wake).toEqual(['ns/a', 'ns/z']);
    expect(seen).toEqual(['w1:ns/a,ns/m,ns/z', 'w2:ns/a,ns/m,ns/z']);
  });
});

describe('Permit', () => {
  it.each([
    ['Unschedulable', unschedulable('vetoed by review-gate: reviewers away')],
    ['Wait', wait('waiting for review-gate')],
  ] as const)('%s keeps the task queued with the plugin’s words and frees the agent for the next task', (_code, status) => {
    const gate = named('hooks', { permit: (t) => (t.name === 'held' ? status : success) });
    const r = cycle(
      [task('held', { priority: 900 }), task('next')],
      [agent('a')],
      profile({ filters: [named('slots', slots(1))], permits: [gate] }),
    );
    expect(placed(r)).toEqual(['next->a']);
    expect(r.pending[0]?.message).toBe(`hooks: ${status.reason ?? ''}`);
  });
});

describe('a plugin that fails', () => {
  const thrower = (point: ExtensionPoint, when: (t: TaskInfo) => boolean): NamedPlugin => {
    const boom = (t: TaskInfo): void => {
      if (when(t)) throw new Error(`boom at ${point}`);
    };
    const plugins: Record<string, RoutingPlugin> = {
      PreFilter: { preFilter: (t) => (boom(t), {}) },
      Filter: { filter: (t) => (boom(t), success) },
      Score: { score: (t) => (boom(t), 1) },
      Reserve: {
        reserve: (t) => {
          boom(t);
        },
      },
      Permit: { permit: (t) => (boom(t), success) },
    };
    return named('flaky', plugins[point] ?? {});
  };
  const at = (point: ExtensionPoint, plugin: NamedPlugin): Profile => {
    const p = profile();
    switch (point) {
      case 'PreFilter':
        return { ...p, preFilters: [plugin] };
      case 'Filter':
        return { ...p, filters: [plugin] };
      case 'Score':
        return { ...p, scorers: [{ ...plugin, weight: 1 }] };
      case 'Reserve':
        return { ...p, reservers: [plugin] };
      default:
        return { ...p, permits: [plugin] };
    }
  };

  it.each(['PreFilter', 'Filter', 'Score', 'Reserve', 'Permit'] as const)('at %s fails only the task it judged, and says so', (point) => {
    const r = cycle(
      [task('bad'), task('good')],
      [agent('a', { maxConcurrentTasks: 2 })],
      at(
        point,
        thrower(point, (t) => t.name === 'bad'),
      ),
    );
    expect(placed(r)).toEqual(['good->a']);
    expect(r.pending[0]?.message).toBe(`routing plugin flaky failed: ${point} threw: boom at ${point}`);
    expect(r.failures).toEqual([{ plugin: 'flaky', point, task: 'ns/bad', message: `threw: boom at ${point}` }]);
  });

  it('frees the agent it held when Permit throws after Reserve', () => {
    const r = cycle([task('bad', { priority: 900 }), task('good')], [agent('a')], {
      ...at(
        'Permit',
        thrower('Permit', (t) => t.name === 'bad'),
      ),
      filters: [named('slots', slots(1))],
    });
    expect(placed(r)).toEqual(['good->a']);
  });

  it('past its time budget has its answer discarded, and each timed call is observed', () => {
    let clock = 0;
    const slow = named('slow', {
      filter(t) {
        clock += t.name === 'slow' ? 250 : 1;
        return success;
      },
    });
    const observed: string[] = [];
    const r = cycle([task('slow'), task('quick')], [agent('a', { maxConcurrentTasks: 2 })], profile({ filters: [slow] }), {
      timer: () => clock,
      budgetMs: 100,
      observe: (plugin, point, seconds) => observed.push(`${plugin}/${point}/${seconds}`),
    });
    expect(placed(r)).toEqual(['quick->a']);
    expect(r.pending[0]?.message).toBe('routing plugin slow failed: Filter ran 250 ms, past its budget of 100 ms');
    expect(observed.sort()).toEqual(['slow/Filter/0.001', 'slow/Filter/0.25']);
  });

  it('in QueueSort leaves the queue in key order and the cycle goes on', () => {
    const sort = named('sorter', {
      queueSort: () => {
        throw new Error('no order');
      },
    });
    const r = cycle([task('b'), task('a')], [agent('x', { maxConcurrentTasks: 2 })], profile({ queueSort: sort }));
    expect(placed(r)).toEqual(['a->x', 'b->x']);
    expect(r.failures).toEqual([{ plugin: 'sorter', point: 'QueueSort', message: 'threw: no order' }]);
  });

  it('never stops other tasks from being assigned (property)', () => {
    const points = ['PreFilter', 'Filter', 'Score', 'Reserve', 'Permit'] as const;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { maxLength: 30 }),
        fc.func(fc.boolean()),
        fc.constantFrom(...points),
        (ids, throws, point) => {
          const tasks = ids.map((i) => task(`t${i}`));
          const bad = new Set(tasks.filter((t) => throws(t.key)).map((t) => t.key));
          const r = cycle(
            tasks,
            [agent('a', { maxConcurrentTasks: 100 })],
            at(
              point,
              thrower(point, (t) => bad.has(t.key)),
            ),
          );
          expect(r.assignments.map((a) => a.task.key).sort()).toEqual(
            tasks
              .filter((t) => !bad.has(t.key))
              .map((t) => t.key)
              .sort(),
          );
          expect(r.pending.map((p) => p.task.key).sort()).toEqual([...bad].sort());
          for (const p of r.pending) expect(p.message).toMatch(/^routing plugin flaky failed: /);
          expect(r.failures.map((f) => f.task).sort()).toEqual([...bad].sort());
        },
      ),
    );
  });
});

describe('cycle state', () => {
  it('reserve and unreserve are exact inverses, idempotent per task and agent', () => {
    const s = createCycleLedger(NOW, 1);
    const a = agent('a', { active: 2, maxConcurrentTasks: 5 });
    expect(s.reserve(task('t'), a)).toBe(true);
    expect(s.reserve(task('t'), a)).toBe(false);
    expect(s.reserve(task('u', { namespace: 'other' }), a)).toBe(true);
    expect([s.load(a), s.assignedThisCycle(a)]).toEqual([4, 2]);
    expect(s.unreserve(task('t'), a)).toBe(true);
    expect(s.unreserve(task('t'), a)).toBe(false);
    expect(s.unreserve(task('never'), a)).toBe(false);
    expect([s.load(a), s.assignedThisCycle(a)]).toEqual([3, 1]);
  });

  it('draws the same numbers in [0, 1) for the same seed', () => {
    const draw = (seed: number): number[] => {
      const r = seededRandom(seed);
      return Array.from({ length: 1000 }, () => r());
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    expect(draw(3).every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = draw(5).reduce((s, x) => s + x, 0) / 1000;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('large namespaces: looking for enough feasible agents, not all of them', () => {
  const fleet = (n: number, fields: Parameters<typeof agent>[1] = {}): AgentInfo[] =>
    Array.from({ length: n }, (_, i) => agent(`a${String(i).padStart(4, '0')}`, { maxConcurrentTasks: 10, ...fields }));
  /** A Filter that counts the agents it is asked about, per task. */
  function counting(verdict: (a: AgentInfo) => boolean = () => true): { plugin: NamedPlugin; seen: Map<string, number> } {
    const seen = new Map<string, number>();
    const plugin = named('count', {
      filter(t, a) {
        seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
        return verdict(a) ? success : unschedulable('no');
      },
    });
    return { plugin, seen };
  }

  it('filters only as many agents as it needs when they all fit, each task from where the last stopped', () => {
    const { plugin, seen } = counting();
    const tasks = Array.from({ length: 5 }, (_, i) => task(`t${i}`));
    const r = cycle(tasks, fleet(1000), profile({ filters: [plugin] }), { feasibleAgentsToFind: 10 });
    expect([...seen.values()]).toEqual([10, 10, 10, 10, 10]);
    // Each task looked at its own window of ten: no two were placed in one window.
    const windows = r.assignments.map((a) => Math.floor((Number(a.agent.name.slice(1)) - 1) / 10));
    expect(new Set(windows).size).toBe(5);
  });

  it('keeps looking until it finds enough, and judges every agent when none fits', () => {
    const { plugin, seen } = counting((a) => a.name === 'a0777');
    const r = cycle([task('t')], fleet(1000), profile({ filters: [plugin] }), { feasibleAgentsToFind: 10 });
    expect(placed(r)).toEqual(['t->a0777']);
    expect(seen.get('t')).toBe(1000);
    const none = counting(() => false);
    const pending = cycle([task('u')], fleet(1000), profile({ filters: [none.plugin] }), { feasibleAgentsToFind: 10 }).pending[0];
    expect(none.seen.get('u')).toBe(1000);
    expect(pending?.message).toBe('0/1000 agents can run it: 1000 no (count)');
  });

  it('always looks at the agents a PreFilter prefers, so their score counts', () => {
    const holder = named('holder', {
      preFilter: () => ({ prefer: new Set(['ns/a0500']) }),
      score: (_t, a) => (a.name === 'a0500' ? 100 : 0),
    });
    const r = cycle([task('t')], fleet(1000), profile({ preFilters: [holder], scorers: [{ ...holder, weight: 1 }] }), {
      feasibleAgentsToFind: 10,
    });
    expect(placed(r)).toEqual(['t->a0500']);
  });

  it('looks at every agent with 0, and at all of a namespace no larger than the limit', () => {
    const all = counting();
    cycle([task('t')], fleet(300), profile({ filters: [all.plugin] }), { feasibleAgentsToFind: 0 });
    expect(all.seen.get('t')).toBe(300);
    const small = counting();
    cycle([task('t')], fleet(100), profile({ filters: [small.plugin] }));
    expect(small.seen.get('t')).toBe(100);
  });
});

describe('PreFilter lists', () => {
  it('never lets a PreFilter place a task in another namespace', () => {
    const foreign = agent('x', { namespace: 'other' });
    const leak = named('leak', { preFilter: () => ({ agents: [foreign] }) });
    const r = cycle([task('t')], [agent('a'), foreign], profile({ preFilters: [leak] }));
    expect(placed(r)).toEqual([]);
  });
});
