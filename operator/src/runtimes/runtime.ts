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

export interface ResourceQuantities {
  /** Kubernetes quantities: cpu "500m" / 2, memory "512Mi" / 1073741824. */
  cpu?: string | number | undefined;
  memory?: string | number | undefined;
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
  resources?: { requests?: ResourceQuantities | undefined; limits?: ResourceQuantities | undefined };
  /**
   * Hash of the fields whose change needs a new workload (image, command, args, env,
   * resources). Stored on the workload, so a changed spec is noticed and rolled.
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
