// Every scenario `make bench` runs, in order, with its script and arguments. One script
// can stand for several scenarios (routing at two client budgets). The order puts the
// scenarios that need many kwok nodes or objects last, so the lighter ones run on a
// plane that is not still clearing up after them.

export interface Scenario {
  name: string;
  script: string;
  args: string[];
  about: string;
  /** Rough minutes at the defaults on a 2-core machine, for the plan printed at the start. */
  minutes: number;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'startup',
    script: 'informer-startup.ts',
    args: [],
    about: 'start to ready and idle RSS with 0, 10,000 and 50,000 Tasks; RSS per cached object',
    minutes: 5,
  },
  {
    name: 'runner-memory',
    script: 'runner-memory.ts',
    args: [],
    about: 'idle RSS of the agent runner, the process every agent runs',
    minutes: 1,
  },
  {
    name: 'registration',
    script: 'agent-registration.ts',
    args: [],
    about: 'Agent created -> Ready at 10 agents/s, and for 100 and 1,000 at once',
    minutes: 6,
  },
  {
    name: 'autoscaling',
    script: 'autoscaling.ts',
    args: [],
    about: 'a pool from zero to its first agent; the scale-up curve of a 200-task burst',
    minutes: 3,
  },
  {
    name: 'failover',
    script: 'failover.ts',
    args: [],
    about: 'two replicas, the leader SIGKILLed under load: time until assignments resume',
    minutes: 3,
  },
  {
    name: 'task-start',
    script: 'task-start.ts',
    args: [],
    about: "Task created -> Running on runners under their agents' own identities (20 tasks/s for 30 s)",
    minutes: 2,
  },
  {
    name: 'routing-defaults',
    script: 'routing.ts',
    args: ['--qps', '100', '--burst', '200', '--scheduler-defaults'],
    about:
      "side by side with kube-scheduler, both at their default client budget (the operator's 100 QPS / 200 burst, kube-scheduler's 50 / 100): 20/s, 100/s, 3,000 at once, and the API server write ceiling",
    minutes: 9,
  },
  {
    name: 'routing',
    script: 'routing.ts',
    args: ['--qps', '1000', '--burst', '2000'],
    about: 'the same with both at 1,000 QPS / 2,000 burst',
    minutes: 5,
  },
  { name: 'fleet', script: 'fleet.ts', args: [], about: '5,000 agents and 50,000 tasks, then 100 tasks/s: assignment p99', minutes: 8 },
  // bench/cycle.ts (the pure routing cycle, no cluster) prints a table of its own and
  // writes no result file: the suite keeps its output as the result. With a Recorder
  // (bench/results.ts) its figures would join the report and the thresholds.
  {
    name: 'cycle',
    script: 'cycle.ts',
    args: [],
    about: 'the pure routing cycle, no cluster: cost per task from 100 to 5,000 agents',
    minutes: 2,
  },
  {
    name: 'plugins',
    script: 'plugin-overhead.ts',
    args: [],
    about: 'production plugins, no cluster: routing cost with and without the anomaly Filter, and its tick',
    minutes: 1,
  },
];

/** The scenarios named in a comma-separated list (all when empty); throws on an unknown name. */
export function selectScenarios(list: string | undefined): Scenario[] {
  const available = [...SCENARIOS];
  const names = (list ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) return available;
  return names.map((n) => {
    const s = available.find((a) => a.name === n);
    if (!s) throw new Error(`no scenario ${n}; there are: ${available.map((a) => a.name).join(', ')}`);
    return s;
  });
}
