import type { AgentInfo } from './types.ts';

/**
 * Tokens an agent's context can still take before it reaches compactAtPercent (Infinity
 * for an agent without spec.context): what the context and affinity plugins route by.
 */
export function contextRoom(agent: AgentInfo): number {
  const c = agent.context;
  if (c === undefined) return Infinity;
  return Math.max(0, Math.floor((c.windowTokens * c.compactAtPercent) / 100) - c.tokens);
}

/** Whether `tokens` more fit in the agent's context without crossing its compaction threshold. */
export function contextFits(agent: AgentInfo, tokens: number | undefined): boolean {
  return (
    (tokens ?? 0) <= contextRoom(agent) &&
    (agent.context === undefined || agent.context.tokens < (agent.context.windowTokens * agent.context.compactAtPercent) / 100)
  );
}
