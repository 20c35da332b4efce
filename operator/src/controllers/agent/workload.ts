import { createHash } from 'node:crypto';
import type { Agent } from '../../api/agent.ts';
import type { AgentRef, WorkloadSpec } from '../../runtimes/runtime.ts';

/** What the runtime is asked to run for an Agent, and the hash that detects a roll. */
export function workloadSpecOf(agent: Agent, ref: AgentRef): WorkloadSpec {
  const { image, command, args, env, resources } = agent.spec.runtime;
  const fields = { image, command, args, env, resources };
  return {
    agent: ref,
    image,
    ...(command ? { command } : {}),
    ...(args ? { args } : {}),
    env: (env ?? []).map((e) => ({
      name: e.name,
      ...(e.value !== undefined ? { value: e.value } : {}),
      ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}),
    })),
    ...(resources ? { resources } : {}),
    specHash: createHash('sha256').update(stableJson(fields)).digest('hex').slice(0, 16),
  };
}

/** JSON with sorted keys, so equal specs always hash alike. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
