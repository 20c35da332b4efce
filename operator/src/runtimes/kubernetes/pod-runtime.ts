import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import { ApiError, isAlreadyExists, isNotFound } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { collectionPath, objectPath, PersistentVolumeClaims, Pods } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { WorkloadError, type AgentRef, type AgentRuntime, type WorkloadSpec, type WorkloadStatus } from '../runtime.ts';
import { agentPod, podName, workspaceClaim } from './pod-spec.ts';
import { AgentRbac } from './agent-rbac.ts';
import { podStatus } from './pod-status.ts';

export interface PodRuntimeOptions {
  client: RestClient;
  writer: Writer;
  /** Pods labelled as agent workloads: observe reads them from here, not from the API. */
  pods: SharedInformer<KubeObject>;
  clock: Clock;
}

// How long a Pod this process created stands in for the cache's copy; long past any
// watch delay, short enough that a Pod deleted before the cache saw it is soon noticed.
const CREATED_TTL_MS = 30_000;

/**
 * Agents of `runtime.type: kubernetes`: one Pod per Agent, owned by it, running as the
 * Agent's own ServiceAccount (agent-rbac.ts). The kubelet restarts the container;
 * this runtime creates, reads (from the cache) and deletes the Pod.
 */
export class PodRuntime implements AgentRuntime {
  readonly type = 'kubernetes';
  private readonly o: PodRuntimeOptions;
  private readonly rbac: AgentRbac;
  /**
   * Pods created here that the cache may not show yet (by Agent UID): the next reconcile
   * of a new agent often comes before the Pod's watch event, and would create it again
   * (409, then a GET).
   */
  private readonly created = new Map<string, { pod: KubeObject; at: number }>();

  constructor(options: PodRuntimeOptions) {
    this.o = options;
    this.rbac = new AgentRbac(options.writer, options.client);
  }

  observe(agent: AgentRef): Promise<WorkloadStatus | undefined> {
    const pod = this.o.pods.get(`${agent.namespace}/${podName(agent.name)}`);
    // A Pod left over from an Agent of the same name that was deleted is not ours.
    const owned = pod?.metadata.ownerReferences?.some((r) => r.uid === agent.uid);
    if (pod && owned) {
      this.created.delete(agent.uid);
      return Promise.resolve(podStatus(pod));
    }
    const created = this.created.get(agent.uid);
    if (created && this.o.clock.now() - created.at < CREATED_TTL_MS) return Promise.resolve(podStatus(created.pod));
    this.created.delete(agent.uid);
    return Promise.resolve(undefined);
  }

  async ensure(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadStatus> {
    const existing = await this.observe(spec.agent);
    if (existing) return existing;
    const { namespace, name } = spec.agent;
    await refusedAs(`ServiceAccount agent-${name}`, this.rbac.ensureAgentAccount(spec.agent, spec.serviceAccount?.annotations, signal));
    await this.ensureClaim(spec, signal);
    try {
      const created = await this.o.client.request<KubeObject>('POST', collectionPath(Pods, namespace), {
        body: agentPod(spec),
        ...(signal ? { signal } : {}),
      });
      this.created.set(spec.agent.uid, { pod: created, at: this.o.clock.now() });
      return podStatus(created);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        // Its ServiceAccount may have been deleted: apply it again next time.
        this.rbac.forget(spec.agent);
        throw refusal(`Pod ${podName(name)}`, err);
      }
      return podStatus(await this.o.client.request<KubeObject>('GET', objectPath(Pods, namespace, podName(name))));
    }
  }

  /**
   * Creates the claim of a persistent workspace unless it is there. An existing claim is
   * left as it is: a claim's class and modes cannot change, and its size only grows where
   * the StorageClass allows expansion, which is done on the claim itself.
   */
  private async ensureClaim(spec: WorkloadSpec, signal?: AbortSignal): Promise<void> {
    const claim = workspaceClaim(spec);
    if (!claim) return;
    const { namespace } = spec.agent;
    const name = claim.metadata.name ?? '';
    try {
      await this.o.client.request('POST', collectionPath(PersistentVolumeClaims, namespace), {
        body: claim,
        ...(signal ? { signal } : {}),
      });
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw refusal(`PersistentVolumeClaim ${name}`, err);
    }
    const existing = await this.o.client.request<KubeObject>(
      'GET',
      objectPath(PersistentVolumeClaims, namespace, name),
      signal ? { signal } : {},
    );
    if (!existing.metadata.ownerReferences?.some((r) => r.uid === spec.agent.uid)) {
      throw new WorkloadError(
        'WorkspaceUnavailable',
        `PersistentVolumeClaim ${name} belongs to an earlier Agent of this name and goes with it: waiting for the garbage collector to delete it`,
      );
    }
    if (existing.metadata.deletionTimestamp !== undefined) {
      throw new WorkloadError(
        'WorkspaceUnavailable',
        `PersistentVolumeClaim ${name} is being deleted (by hand?): the workspace is made again once it is gone`,
      );
    }
  }

  /** The UID of the Agent's own Pod, so a delete never hits a namesake's. */
  private async podUid(agent: AgentRef): Promise<string | undefined> {
    return (await this.observe(agent))?.id;
  }

  /** Starts deleting the Pod; observe shows it until the kubelet (or kwok) has let it go. */
  /** The Agent is gone: what this process remembers of it goes too. */
  forget(agent: AgentRef): void {
    this.rbac.forget(agent);
    this.created.delete(agent.uid);
  }

  async remove(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    const uid = await this.podUid(agent);
    this.created.delete(agent.uid);
    try {
      await this.o.client.request('DELETE', objectPath(Pods, agent.namespace, podName(agent.name)), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid }, propagationPolicy: 'Background' },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/**
 * What the API server refused for a reason in the spec (422 invalid, 400 bad request: an
 * affinity it cannot parse) or of the namespace (403: a quota, Pod Security, RBAC), as a
 * WorkloadError: the Agent's Ready condition and a Warning Event then carry its message.
 * Anything else is left to the controller's retries.
 */
function refusal(what: string, err: unknown): unknown {
  if (!(err instanceof ApiError) || ![400, 403, 422].includes(err.status)) return err;
  const prefix = `${err.method} ${err.path}: `;
  const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
  return new WorkloadError(err.status === 403 ? 'Forbidden' : 'InvalidSpec', `the API server refused ${what}: ${message}`);
}

async function refusedAs(what: string, applying: Promise<void>): Promise<void> {
  try {
    await applying;
  } catch (err) {
    throw refusal(what, err);
  }
}
