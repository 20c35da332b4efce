import { z } from 'zod';
import {
  contextRoom,
  definePlugin,
  skip,
  success,
  unresolvable,
  unschedulable,
  type AgentInfo,
  type AgentObject,
  type Intent,
  type NamespaceSnapshot,
} from '../../operator/src/framework/index.ts';
import { compactionStep, CONDITION } from './compaction.ts';

export { compactionStep, CONDITION, RUNNER_REASONS, type CompactionInput, type CompactionStep } from './compaction.ts';

export const REASONS = {
  compacting: 'compacting its context',
  tooSmall: "context window smaller than the task's estimatedTokens",
} as const;

export const contextConfig = z
  .strictObject({
    compactTimeoutSeconds: z
      .int()
      .min(10)
      .max(86400)
      .default(300)
      .describe('How long the runner may take to compact before the agent is recycled instead.'),
    recycleTimeoutSeconds: z
      .int()
      .min(10)
      .max(86400)
      .default(600)
      .describe(
        'How long a recycled agent’s new runner may take to report a fresh context before the cycle is given up (routing resumes).',
      ),
  })
  .describe('Context-window management of LLM agents (their spec.context).');
export type ContextConfig = z.output<typeof contextConfig>;

// Once per list: the router's index copies its list when an agent changes.
const windowed = new WeakMap<readonly AgentInfo[], boolean>();
function hasWindows(agents: readonly AgentInfo[]): boolean {
  let known = windowed.get(agents);
  if (known === undefined) windowed.set(agents, (known = agents.some((a) => a.context !== undefined)));
  return known;
}

function agentIntents(agent: AgentObject, running: number, config: ContextConfig, now: number): Intent[] {
  const window = agent.spec.context;
  if (!window || agent.metadata.deletionTimestamp !== undefined) return [];
  const used = agent.status?.contextUsage;
  const previous = agent.status?.conditions?.find((c) => c.type === CONDITION);
  const step = compactionStep({
    now,
    windowTokens: window.windowTokens,
    compactAtPercent: window.compactAtPercent,
    tokens: used?.tokens ?? 0,
    percent: used?.percent ?? 0,
    activeTasks: running,
    condition: previous
      ? { status: previous.status, reason: previous.reason, message: previous.message, since: Date.parse(previous.lastTransitionTime) }
      : undefined,
    compactTimeoutMs: config.compactTimeoutSeconds * 1000,
    recycleTimeoutMs: config.recycleTimeoutSeconds * 1000,
  });
  const target = { kind: 'Agent', name: agent.metadata.name } as const;
  const name = agent.metadata.name;
  const intents: Intent[] = [
    {
      kind: 'metric',
      name: 'agent_context_tokens',
      help: 'Tokens in each agent’s context window, as its runner last reported',
      labels: { agent: name },
      value: used?.tokens ?? 0,
    },
    {
      kind: 'metric',
      name: 'agent_context_window_tokens',
      help: 'Size of each agent’s context window (spec.context.windowTokens)',
      labels: { agent: name },
      value: window.windowTokens,
    },
    {
      kind: 'metric',
      name: 'agent_context_compactions',
      help: 'Compaction cycles each agent completed (compacted or recycled), from its status',
      labels: { agent: name },
      value: agent.status?.stats?.compactions ?? 0,
    },
    {
      kind: 'metric',
      name: 'agent_context_compacting',
      help: '1 while the agent is in a compaction cycle (draining, compacting or recycling)',
      labels: { agent: name },
      value: (step.condition?.status ?? previous?.status) === 'True' ? 1 : 0,
    },
  ];
  // Each step's timeout runs from when the cycle reached it: lastTransitionTime moves with
  // the reason, not only with the status (True from Draining to Recycling).
  if (step.condition) {
    const moved = step.condition.reason !== previous?.reason || step.condition.status !== previous.status;
    intents.push({ kind: 'condition', target, condition: { type: CONDITION, ...step.condition }, ...(moved ? { since: now } : {}) });
  }
  if (step.event) intents.push({ kind: 'event', target, ...step.event });
  if (step.restart !== undefined)
    intents.push({ kind: 'agent', agent: name, action: 'restart', reason: 'ContextRecycling', message: step.restart });
  if (step.requeueAfterMs !== undefined) intents.push({ kind: 'requeue', afterMs: step.requeueAfterMs });
  return intents;
}

/**
 * Context windows of LLM agents. Lifecycle: an agent whose reported context reaches
 * spec.context.compactAtPercent is drained (no new tasks), then its runner compacts (the
 * agent's compact command, or the model executor's summary) or, when it cannot, the agent
 * is recycled: restarted with a fresh context seeded from the summary its runner saved.
 * Each cycle lives in the agent's ContextCompaction condition, with an Event at its start
 * and end. Routing: no task for an agent in a cycle, none bigger than its window, and the
 * agents with the most room first.
 */
export const contextPlugin = definePlugin({
  name: 'context',
  config: contextConfig,
  routing: () => ({
    // A namespace without LLM agents: nothing to filter or score, at no cost per agent.
    preFilter(_task, agents) {
      return hasWindows(agents.all) ? {} : { status: skip };
    },
    filter(task, agent) {
      if (agent.conditions[CONDITION]?.status === 'True') return unschedulable(REASONS.compacting);
      if (agent.context !== undefined && (task.estimatedTokens ?? 0) > agent.context.windowTokens) return unresolvable(REASONS.tooSmall);
      return success;
    },
    // The share of the usable window still free; 0 when the task's estimate does not fit.
    // Agents without a window have all the room there is.
    score(task, agent) {
      const c = agent.context;
      if (c === undefined) return 100;
      const room = contextRoom(agent);
      if ((task.estimatedTokens ?? 0) > room) return 0;
      const usable = (c.windowTokens * c.compactAtPercent) / 100;
      return usable > 0 ? Math.round((100 * room) / usable) : 0;
    },
  }),
  lifecycle: (config) => ({
    onTick(snapshot: NamespaceSnapshot): Intent[] {
      if (!snapshot.agents.some((a) => a.spec.context !== undefined)) return [];
      // Counted from the Tasks, not the Agent's activeTasks, which the agent controller
      // writes a moment later: a task assigned just now already keeps the agent draining.
      const running = new Map<string, number>();
      for (const t of snapshot.tasks) {
        const agent = t.status?.assignment?.agent;
        if (agent !== undefined && (t.status?.phase === 'Assigned' || t.status?.phase === 'Running'))
          running.set(agent, (running.get(agent) ?? 0) + 1);
      }
      return snapshot.agents.flatMap((a) => agentIntents(a, running.get(a.metadata.name) ?? 0, config, snapshot.now));
    },
  }),
});
