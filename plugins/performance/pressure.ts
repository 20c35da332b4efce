// Resource pressure of one agent: its usage (status.resources, written by its runner)
// against its limits (spec.runtime.resources.limits), as a condition's status, reason and
// words.
import { parseQuantity, type AgentObject } from '../../operator/src/framework/index.ts';

export interface PressureSettings {
  /** Share of the memory limit (percent) from which the agent is under pressure. */
  readonly memoryPercent: number;
  /** Share of the CPU limit (percent) from which the agent is under pressure. */
  readonly cpuPercent: number;
  /** Usage older than this is not judged (the runner stopped reporting). */
  readonly staleMs: number;
  /** An OOM kill keeps the agent under pressure this long. */
  readonly oomWindowMs: number;
}

export interface Pressure {
  readonly status: 'True' | 'False';
  readonly reason: 'OOMKilled' | 'MemoryNearLimit' | 'CPUNearLimit' | 'WithinLimits';
  readonly message: string;
}

const limitOf = (q: string | number | undefined): number | undefined => {
  if (q === undefined) return undefined;
  try {
    const v = parseQuantity(q);
    return v > 0 ? v : undefined;
  } catch {
    return undefined;
  }
};
const mib = (bytes: number): string => `${Math.round(bytes / 1048576)}Mi`;

/** The agent's pressure, or undefined when it has no fresh usage or no limit to compare with. */
export function pressureOf(agent: AgentObject, s: PressureSettings, now: number): Pressure | undefined {
  const exit = agent.status?.workload?.lastExit;
  if (exit?.reason === 'OOMKilled' && now - Date.parse(exit.finishedAt) < s.oomWindowMs) {
    const limit = limitOf(agent.spec.runtime.resources?.limits?.memory);
    return {
      status: 'True',
      reason: 'OOMKilled',
      message: `the workload was killed for lack of memory at ${exit.finishedAt}${limit !== undefined ? ` (limit ${mib(limit)})` : ''}, and restarted: its running tasks were handed back; raise spec.runtime.resources.limits.memory`,
    };
  }
  const usage = agent.status?.resources;
  if (usage === undefined || now - Date.parse(usage.observedAt) > s.staleMs) return undefined;
  const limits = agent.spec.runtime.resources?.limits;
  const memoryLimit = limitOf(limits?.memory);
  const cpuLimit = limitOf(limits?.cpu);
  if (memoryLimit === undefined && cpuLimit === undefined) return undefined;
  const at = `measured ${usage.observedAt}`;
  if (memoryLimit !== undefined) {
    const pct = Math.round((100 * usage.memoryBytes) / memoryLimit);
    if (pct >= s.memoryPercent) {
      return {
        status: 'True',
        reason: 'MemoryNearLimit',
        message: `memory ${mib(usage.memoryBytes)} of its ${mib(memoryLimit)} limit (${pct}%, ${at}): near an OOM kill; raise spec.runtime.resources.limits.memory or give it smaller tasks`,
      };
    }
  }
  if (cpuLimit !== undefined) {
    const pct = Math.round(usage.cpuMillicores / (10 * cpuLimit));
    if (pct >= s.cpuPercent) {
      return {
        status: 'True',
        reason: 'CPUNearLimit',
        message: `CPU ${usage.cpuMillicores}m of its ${Math.round(cpuLimit * 1000)}m limit (${pct}%, ${at}): throttled, its tasks take longer; raise spec.runtime.resources.limits.cpu`,
      };
    }
  }
  return {
    status: 'False',
    reason: 'WithinLimits',
    message: `memory below ${s.memoryPercent}% and CPU below ${s.cpuPercent}% of the agent's limits`,
  };
}
