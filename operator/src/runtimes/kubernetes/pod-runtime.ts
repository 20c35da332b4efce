import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import { isAlreadyExists, isNotFound } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { collectionPath, objectPath, Pods } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { AgentRef, AgentRuntime, WorkloadSpec, WorkloadStatus } from '../runtime.ts';
import { agentPod, podName } from './pod-spec.ts';
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
 * namespace's agent ServiceAccount (agent-rbac.ts). The kubelet restarts the container;
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
    this.rbac = new AgentRbac(options.writer, options.clock);
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
    await this.rbac.ensureNamespace(namespace, signal);
    try {
      const created = await this.o.client.request<KubeObject>('POST', collectionPath(Pods, namespace), {
        body: agentPod(spec),
        ...(signal ? { signal } : {}),
      });
      this.created.set(spec.agent.uid, { pod: created, at: this.o.clock.now() });
      return podStatus(created);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        // Its ServiceAccount may have been deleted: apply the namespace's objects again.
        this.rbac.forgetNamespace(namespace);
        throw err;
      }
      return podStatus(await this.o.client.request<KubeObject>('GET', objectPath(Pods, namespace, podName(name))));
    }
  }

  /** The UID of the Agent's own Pod, so a delete never hits a namesake's. */
  private async podUid(agent: AgentRef): Promise<string | undefined> {
    return (await this.observe(agent))?.id;
  }

  /** Starts deleting the Pod; observe shows it until the kubelet (or kwok) has let it go. */
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
