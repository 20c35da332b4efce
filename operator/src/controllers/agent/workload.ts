import type { Agent } from '../../api/agent.ts';
import type { AgentRef, WorkloadSpec } from '../../runtimes/runtime.ts';
import { specHash } from '../spec-hash.ts';

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
    specHash: specHash(fields),
  };
}
