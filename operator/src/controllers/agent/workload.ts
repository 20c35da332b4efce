import type { Agent } from '../../api/agent.ts';
import type { AgentRef, WorkloadSpec } from '../../runtimes/runtime.ts';
import { specHash } from '../spec-hash.ts';

/** What the runtime is asked to run for an Agent, and the hash that detects a roll. */
export function workloadSpecOf(agent: Agent, ref: AgentRef): WorkloadSpec {
  const { image, command, args, env, envFrom, resources } = agent.spec.runtime;
  const placement = placementOf(agent.spec.runtime);
  // An empty envFrom is none: it must not roll the workloads made before the field existed.
  const fields = { image, command, args, env, envFrom: envFrom?.length ? envFrom : undefined, resources, ...placement };
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
    ...(envFrom?.length ? { envFrom } : {}),
    ...(resources ? { resources } : {}),
    ...placement,
    specHash: specHash(fields),
  };
}

type Placement = Pick<
  WorkloadSpec,
  'workingDir' | 'workspace' | 'nodeSelector' | 'tolerations' | 'affinity' | 'imagePullSecrets' | 'runtimeClassName' | 'serviceAccount'
>;

/**
 * Where and with what the workload runs besides image, command and env: only the fields
 * set, so the hash of an Agent from before they existed stays the same (no roll on upgrade).
 */
function placementOf(runtime: Agent['spec']['runtime']): Placement {
  const { workingDir, workspace, nodeSelector, tolerations, affinity, imagePullSecrets, runtimeClassName, serviceAccount } = runtime;
  const all: { [K in keyof Placement]-?: Placement[K] | undefined } = {
    workingDir,
    workspace,
    nodeSelector,
    tolerations,
    affinity,
    imagePullSecrets,
    runtimeClassName,
    serviceAccount,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}
