/** Which Agent a workload belongs to. */
export interface AgentRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}

/** Kubernetes' EnvFromSource: every key of a Secret or ConfigMap, named with an optional prefix. */
export interface EnvFromSource {
  prefix?: string | undefined;
  secretRef?: { name: string; optional?: boolean | undefined } | undefined;
  configMapRef?: { name: string; optional?: boolean | undefined } | undefined;
}

/**
 * Kubernetes quantities by resource name: cpu "500m" / 2, memory "512Mi" / 1073741824,
 * and extended resources in whole numbers (nvidia.com/gpu: 1).
 */
export type ResourceQuantities = Readonly<Record<string, string | number>>;

/** A writable directory that outlives the workload unless `ephemeral` (api/workload-fields.ts). */
export interface WorkspaceSpec {
  mountPath: string;
  size?: string | number | undefined;
  storageClassName?: string | undefined;
  accessModes?: readonly string[] | undefined;
  ephemeral?: boolean | undefined;
}

/** A Pod toleration. */
export interface Toleration {
  key?: string | undefined;
  operator?: 'Exists' | 'Equal' | undefined;
  value?: string | undefined;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | undefined;
  tolerationSeconds?: number | undefined;
}

/** Everything a runtime needs to run one Agent's workload. */
export interface WorkloadSpec {
  agent: AgentRef;
  image: string;
  command?: readonly string[];
  args?: readonly string[];
  /**
   * Environment of the agent. Pods keep Secret references as they are; runtimes that
   * cannot (docker) get them resolved to values by the controller first.
   */
  env: readonly EnvVar[];
  /** Secrets and ConfigMaps whose keys become variables; resolved into env, like env's references, for docker. */
  envFrom?: readonly EnvFromSource[];
  resources?: { requests?: ResourceQuantities | undefined; limits?: ResourceQuantities | undefined };
  /** The process's working directory; the image's when unset. */
  workingDir?: string;
  workspace?: WorkspaceSpec;
  /** Pod placement (kubernetes only; the API refuses them for docker agents). */
  nodeSelector?: Readonly<Record<string, string>>;
  tolerations?: readonly Toleration[];
  /** Kept as written: the API server checks it when the Pod is made. */
  affinity?: Readonly<Record<string, unknown>>;
  imagePullSecrets?: readonly { name: string }[];
  /** A Pod's RuntimeClass; a container's engine runtime (HostConfig.Runtime). */
  runtimeClassName?: string;
  /** kubernetes: run as the agent's own ServiceAccount agent-<name>, annotated so (ADR 0015). */
  serviceAccount?: { annotations?: Readonly<Record<string, string>> | undefined };
  /**
   * Hash of the fields whose change needs a new workload (every field above but the
   * agent). Stored on the workload, so a changed spec is noticed and rolled.
   */
  specHash: string;
  /**
   * The Agent's restart annotation (agents.orchestrator.dev/restartedAt) when the workload
   * is made, '' for none. Stored on the workload, so a later restart request is told
   * exactly from the one this workload already carries out.
   */
  restartedAt?: string;
}

export type WorkloadPhase = 'Pending' | 'Running' | 'Exited' | 'Unknown';

/** What a runtime observed of a workload. */
export interface WorkloadStatus {
  kind: 'Pod' | 'Container';
  name: string;
  /** Pod UID or container ID. */
  id?: string;
  phase: WorkloadPhase;
  specHash?: string;
  /**
   * The restart request (ms) the workload was made under: 0 when it was made under none,
   * undefined when it does not say (made before the operator recorded it).
   */
  restartRequest?: number;
  /** Times the workload's process has restarted (or been restarted by the operator). */
  restarts: number;
  /** Why it is not running, or how it last ended: e.g. ImagePullBackOff, Error, OOMKilled. */
  reason?: string;
  message?: string;
  exitCode?: number;
  /** When the workload was made (ms since epoch, whole seconds), where the runtime says. */
  createdAt?: number;
  /** When the process last started or finished (ms since epoch), if known. */
  startedAt?: number;
  finishedAt?: number;
  /** How its process last ended, where the runtime still says (a Pod's last termination; an exited container). */
  lastExit?: { reason: string; exitCode?: number | undefined; finishedAt: number } | undefined;
}

/**
 * A place agents run. Every method is idempotent and safe to call from any reconcile:
 * the runtime finds its workloads by the Agent's identity, never by memory.
 */
export interface AgentRuntime {
  readonly type: 'kubernetes' | 'docker';
  /** The Agent's workload as it is now, or undefined when there is none. */
  observe(agent: AgentRef, signal?: AbortSignal): Promise<WorkloadStatus | undefined>;
  /** Creates the workload if it is missing, or starts it if it stopped; returns what is there. */
  ensure(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadStatus>;
  /**
   * Stops and removes the Agent's workload (idempotent). A runtime may finish the removal
   * after it returns (a Pod terminates); observe shows the workload until it is gone.
   */
  remove(agent: AgentRef, signal?: AbortSignal): Promise<void>;
  /**
   * Deletes what the Agent keeps across sleep, restarts and rolls (its workspace volume),
   * once the Agent is being deleted and its workload is gone (idempotent). A runtime whose
   * objects the Agent owns (a PersistentVolumeClaim) leaves them to the garbage collector.
   */
  release?(agent: AgentRef, signal?: AbortSignal): Promise<void>;
}

/** A runtime failure the user must fix (bad image, unreachable endpoint): not retried fast. */
/** A recorded restart request: '' (none) is 0; undefined or not a time says nothing. */
export function restartRequestOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === '') return 0;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
  /** CamelCase reason for the Agent's condition, e.g. ImageNotFound, RuntimeUnavailable. */
  readonly reason: string;

  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}
