import type Docker from 'dockerode';
import { GPU_RESOURCE } from '../../api/workload-fields.ts';
import { cpuToNanoCpus, memoryToBytes } from '../../core/quantity.ts';
import type { WorkloadSpec } from '../runtime.ts';
import { WorkloadError } from '../runtime.ts';
import { containerName, workloadLabels } from './labels.ts';
import { workspaceMounts } from './workspace-volume.ts';

/**
 * What the engine is asked to create for an Agent: its spec in Docker's terms, hardened
 * (no capabilities, no new privileges, an init), restarted by the operator and not by
 * the engine. Pure, so every field's mapping is checked without an engine (GPUs above all).
 */
export function containerOptions(spec: WorkloadSpec, network: 'host' | 'none'): Docker.ContainerCreateOptions {
  const gpus = gpuRequest(spec);
  const options: Docker.ContainerCreateOptions = {
    name: containerName(spec.agent),
    Image: spec.image,
    // Secret references must have been resolved by the caller: a container cannot follow them.
    Env: spec.env.map(({ name: key, value, valueFrom }) => {
      if (valueFrom) throw new WorkloadError('InvalidSpec', `env ${key}: a Secret reference must be resolved before it reaches Docker`);
      return `${key}=${value ?? ''}`;
    }),
    Labels: workloadLabels(spec),
    HostConfig: {
      NetworkMode: network,
      // The operator restarts with backoff and counts it; the engine must not race it.
      RestartPolicy: { Name: 'no' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      ...limitsOf(spec),
      ...(spec.workspace ? { Mounts: workspaceMounts(spec) } : {}),
      ...(gpus > 0 ? { DeviceRequests: [{ Driver: 'nvidia', Count: gpus, Capabilities: [['gpu']] }] } : {}),
      // An engine runtime (runsc, nvidia) registered in the daemon's configuration.
      ...(spec.runtimeClassName !== undefined ? { Runtime: spec.runtimeClassName } : {}),
    },
  };
  if (spec.command) options.Entrypoint = [...spec.command];
  if (spec.args) options.Cmd = [...spec.args];
  if (spec.workingDir !== undefined) options.WorkingDir = spec.workingDir;
  return options;
}

/** nvidia.com/gpu, from limits (Kubernetes takes requests from them) or requests. */
function gpuRequest(spec: WorkloadSpec): number {
  const value = spec.resources?.limits?.[GPU_RESOURCE] ?? spec.resources?.requests?.[GPU_RESOURCE];
  if (value === undefined) return 0;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new WorkloadError(
      'InvalidSpec',
      `container ${containerName(spec.agent)}: ${GPU_RESOURCE} must be a whole number of GPUs, not ${JSON.stringify(value)}`,
    );
  }
  return count;
}

function limitsOf(spec: WorkloadSpec): { NanoCpus?: number; Memory?: number; MemorySwap?: number } {
  const limits = spec.resources?.limits;
  try {
    const cpu = limits?.cpu === undefined ? undefined : cpuToNanoCpus(limits.cpu);
    const memory = limits?.memory === undefined ? undefined : memoryToBytes(limits.memory);
    return {
      ...(cpu === undefined ? {} : { NanoCpus: cpu }),
      // MemorySwap equal to Memory: no swap beyond the limit, as under the kubelet.
      ...(memory === undefined ? {} : { Memory: memory, MemorySwap: memory }),
    };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new WorkloadError('InvalidSpec', `container ${containerName(spec.agent)}: ${reason}`);
  }
}
