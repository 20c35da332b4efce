import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
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
}

/**
 * Agents of `runtime.type: kubernetes`: one Pod per Agent, owned by it, running as the
 * Agent's own ServiceAccount. The kubelet restarts the container; this runtime creates,
 * reads (from the cache) and deletes the Pod.
 */
export class PodRuntime implements AgentRuntime {
  readonly type = 'kubernetes';
  private readonly o: PodRuntimeOptions;
  private readonly rbac: AgentRbac;

  constructor(options: PodRuntimeOptions) {
    this.o = options;
    this.rbac = new AgentRbac(options.writer);
  }

  observe(agent: AgentRef): Promise<WorkloadStatus | undefined> {
    const pod = this.o.pods.get(`${agent.namespace}/${podName(agent.name)}`);
    // A Pod left over from an Agent of the same name that was deleted is not ours.
    const owned = pod?.metadata.ownerReferences?.some((r) => r.uid === agent.uid);
    return Promise.resolve(pod && owned ? podStatus(pod) : undefined);
  }

  async ensure(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadStatus> {
    const existing = await this.observe(spec.agent);
    if (existing) return existing;
    await this.rbac.ensure(spec.agent, signal);
    const { namespace, name } = spec.agent;
    try {
      const created = await this.o.client.request<KubeObject>('POST', collectionPath(Pods, namespace), {
        body: agentPod(spec),
        ...(signal ? { signal } : {}),
      });
      return podStatus(created);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return podStatus(await this.o.client.request<KubeObject>('GET', objectPath(Pods, namespace, podName(name))));
    }
  }

  /** The UID of the Agent's own Pod, so a delete never hits a namesake's. */
  private async podUid(agent: AgentRef): Promise<string | undefined> {
    return (await this.observe(agent))?.id;
  }

  /** Starts deleting the Pod; observe shows it until the kubelet (or kwok) has let it go. */
  async remove(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    try {
      await this.o.client.request('DELETE', objectPath(Pods, agent.namespace, podName(agent.name)), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: await this.podUid(agent) }, propagationPolicy: 'Background' },
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
