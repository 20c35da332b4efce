// Benchmark: the pure routing cycle, no API server. What one task costs the router as the
// fleet grows from 100 to 5,000 agents, with the Balanced profile, in the steady state of
// a busy fleet (half the slots in use, every assignment recorded in the cache, a task
// finishing for each one assigned). Side by side:
//   - now: the incremental cache and a cycle that stops at --feasible agents found;
//   - before: a snapshot rebuilt and every agent filtered for every task (what the router
//     did until issue 14; it also rescanned every cached task per cycle, not counted here).
//
//   make bench-cycle   (= node bench/cycle.ts [--tasks 3000] [--batch 10] [--feasible 100])
import { parseArgs } from 'node:util';
import { builtinRegistry } from '../operator/src/builtin-registry.ts';
import { AgentCache, type AgentFacts } from '../operator/src/framework/agent-cache.ts';
import { seededRandom } from '../operator/src/framework/cycle-state.ts';
import { routeQueue, runCycle, type Profile } from '../operator/src/framework/cycle.ts';
import type { TaskInfo } from '../operator/src/framework/types.ts';
import { loadAverage, percentile } from './support.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '10' },
    feasible: { type: 'string', default: '100' },
    sizes: { type: 'string', default: '100,500,1000,2000,5000' },
  },
});
const TASKS = Number(values.tasks);
const BATCH = Number(values.batch);
const FEASIBLE = Number(values.feasible);
const SIZES = values.sizes.split(',').map(Number);
const NS = 'bench';
const CAPS = ['code', 'review', 'docs', 'test', 'ops'];
const NOW = Date.parse('2026-11-30T00:00:00Z');

const built = builtinRegistry().build({ strategy: 'Balanced' }, undefined);
if (built.profile === undefined) throw new Error(built.errors.join('; '));
const profile: Profile = built.profile;

/** A deterministic stream of numbers in [0, 1): the same fleet and tasks on every run. */
const stream = seededRandom;

function fleet(n: number, random: () => number): AgentFacts[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `agent-${String(i).padStart(5, '0')}`;
    const first = Math.floor(random() * CAPS.length);
    return {
      key: `${NS}/${name}`,
      namespace: NS,
      name,
      capabilities: new Set([CAPS[first] as string, CAPS[(first + 1) % CAPS.length] as string]),
      maxConcurrentTasks: 4,
      ready: true,
      sleeping: false,
      leaving: false,
      conditions: { Healthy: { status: 'True', reason: 'HeartbeatFresh' } },
    };
  });
}

function newTask(i: number, random: () => number): TaskInfo {
  return {
    key: `${NS}/task-${i}`,
    namespace: NS,
    name: `task-${i}`,
    required: [CAPS[Math.floor(random() * CAPS.length)] as string],
    preferred: [],
    priority: 100,
    queuedAt: NOW,
  };
}

interface Run {
  perTaskUs: number[];
  assigned: number;
}

/** Routes TASKS tasks in batches, keeping the fleet half busy: the cache as the router keeps it. */
function measure(n: number, mode: 'now' | 'before'): Run {
  const random = stream(n);
  const cache = new AgentCache();
  const agents = fleet(n, random);
  for (const a of agents) cache.setAgent(a.key, a);
  // Half of every agent's slots taken, and a queue of what to finish.
  const running: { task: string; agent: string }[] = [];
  let id = 0;
  for (const a of agents) {
    for (let s = 0; s < a.maxConcurrentTasks / 2; s++) {
      const task = `${NS}/warm-${id++}`;
      cache.setHolding(task, { agent: a.key, active: true, assignedAt: NOW });
      running.push({ task, agent: a.key });
    }
  }
  const perTaskUs: number[] = [];
  let assigned = 0;
  for (let i = 0; i < TASKS; i += BATCH) {
    const tasks = Array.from({ length: BATCH }, (_, j) => newTask(i + j, random));
    const start = performance.now();
    const result =
      mode === 'now'
        ? routeQueue({ now: NOW, seed: i, tasks, index: (ns) => cache.index(ns) }, profile, { feasibleAgentsToFind: FEASIBLE })
        : runCycle({ now: NOW, seed: i, tasks, agents: [...cache.index(NS).all] }, profile, { feasibleAgentsToFind: 0 });
    perTaskUs.push(((performance.now() - start) * 1000) / BATCH);
    for (const { task, agent } of result.assignments) {
      cache.setHolding(task.key, { agent: agent.key, active: true, assignedAt: NOW });
      running.push({ task: task.key, agent: agent.key });
      assigned++;
      // One finishes for each one that starts: the load stays where it was.
      const done = running.splice(Math.floor(random() * running.length), 1)[0];
      if (done) cache.setHolding(done.task, undefined);
    }
  }
  return { perTaskUs, assigned };
}

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

console.log(
  `routing cycle, Balanced profile, ${TASKS} tasks in batches of ${BATCH}, feasibleAgentsToFind ${FEASIBLE}; load average ${loadAverage()}`,
);
console.log(
  '| agents | now p50 / task | now p99 / task | now p50 vs 100 agents | before p50 / task | before p99 / task | before / now (p50) |',
);
console.log('|---|---|---|---|---|---|---|');
let base: number | undefined;
// Each agent has 2 of the 5 capabilities and each task requires 1: 40% of a fleet can run a task.
const CAPABLE = 2 / CAPS.length;
let sampled: { n: number; p50: number } | undefined;
let last: { n: number; p50: number } | undefined;
for (const n of SIZES) {
  // Warm the JIT on a small run of each mode first.
  measure(Math.min(n, 200), 'now');
  measure(Math.min(n, 200), 'before');
  const now = measure(n, 'now');
  const before = measure(n, 'before');
  const p50 = percentile(now.perTaskUs, 50);
  base ??= p50;
  const b50 = percentile(before.perTaskUs, 50);
  console.log(
    `| ${n} | ${fmt(p50)} | ${fmt(percentile(now.perTaskUs, 99))} | ${(p50 / base).toFixed(2)}x | ${fmt(b50)} | ${fmt(percentile(before.perTaskUs, 99))} | ${(b50 / p50).toFixed(1)}x |`,
  );
  if (FEASIBLE > 0 && n * CAPABLE > FEASIBLE) sampled ??= { n, p50 };
  last = { n, p50 };
  if (now.assigned !== before.assigned) console.log(`  (assigned: now ${now.assigned}, before ${before.assigned})`);
}
if (sampled && last && last.n > sampled.n) {
  // Below that size a task looks at every capable agent; from there on at a sample of FEASIBLE.
  console.log(
    `once a task has more than ${FEASIBLE} capable agents: p50 per task at ${last.n} agents / at ${sampled.n} agents = ${(last.p50 / sampled.p50).toFixed(2)}x`,
  );
}
console.log(`load average at the end ${loadAverage()}`);
