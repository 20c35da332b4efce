import type { KubeObject } from '../../runtime/rest/object.ts';
import { RESTART_ANNOTATION } from '../../api/common.ts';
import { restartRequestOf, type WorkloadStatus } from '../runtime.ts';
import { SPEC_HASH_ANNOTATION } from './pod-spec.ts';

interface ContainerState {
  running?: { startedAt?: string };
  waiting?: { reason?: string; message?: string };
  terminated?: { exitCode?: number; reason?: string; message?: string; finishedAt?: string; startedAt?: string };
}

interface PodStatusFields {
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  containerStatuses?: { name: string; restartCount?: number; state?: ContainerState; lastState?: ContainerState }[];
}

const ms = (t: string | undefined): number | undefined => (t ? Date.parse(t) : undefined);

/** How the agent controller sees a Pod: its phase, why it waits, how it last ended. */
export function podStatus(pod: KubeObject): WorkloadStatus {
  const status = (pod.status ?? {}) as PodStatusFields;
  const container = status.containerStatuses?.find((c) => c.name === 'agent') ?? status.containerStatuses?.[0];
  const last = container?.state?.terminated ?? container?.lastState?.terminated;
  const waiting = container?.state?.waiting;
  const finishedAt = ms(last?.finishedAt);
  const unschedulable = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const restartRequest = restartRequestOf(pod.metadata.annotations?.[RESTART_ANNOTATION]);
  const createdAt = ms(pod.metadata.creationTimestamp);
  const base = {
    kind: 'Pod' as const,
    name: pod.metadata.name ?? '',
    ...(pod.metadata.uid ? { id: pod.metadata.uid } : {}),
    ...(createdAt !== undefined ? { createdAt } : {}),
    ...specHashOf(pod),
    ...(restartRequest !== undefined ? { restartRequest } : {}),
    restarts: container?.restartCount ?? 0,
    ...(last?.exitCode !== undefined ? { exitCode: last.exitCode } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
    // Kept while the kubelet runs the container again (restartPolicy Always): an OOM kill stays visible.
    ...(last && finishedAt !== undefined ? { lastExit: { reason: last.reason ?? 'Error', exitCode: last.exitCode, finishedAt } } : {}),
  };
  if (pod.metadata.deletionTimestamp) {
    // While it terminates its container may still run: its start tells a restart that was
    // asked for (which this deletion carries out) from one that came after it.
    const startedAt = ms(container?.state?.running?.startedAt);
    return {
      ...base,
      phase: 'Exited',
      reason: 'Terminating',
      message: 'the Pod is being deleted',
      ...(startedAt !== undefined ? { startedAt } : {}),
    };
  }
  switch (status.phase) {
    case 'Running':
      if (container?.state?.running) {
        const startedAt = ms(container.state.running.startedAt);
        return { ...base, phase: 'Running', ...(startedAt !== undefined ? { startedAt } : {}) };
      }
      return { ...base, phase: 'Pending', ...reasonOf(waiting, last) };
    case 'Succeeded':
    case 'Failed':
      return { ...base, phase: 'Exited', ...reasonOf(undefined, last), ...(status.reason ? { reason: status.reason } : {}) };
    case 'Pending':
      if (unschedulable)
        return { ...base, phase: 'Pending', reason: 'Unschedulable', message: unschedulable.message ?? 'no node fits the Pod' };
      return { ...base, phase: 'Pending', ...reasonOf(waiting, last) };
    default:
      return { ...base, phase: status.phase === undefined ? 'Pending' : 'Unknown' };
  }
}

function reasonOf(waiting: ContainerState['waiting'], last: ContainerState['terminated']): { reason?: string; message?: string } {
  const reason = waiting?.reason ?? last?.reason;
  const lastExit = last
    ? `last exit code ${String(last.exitCode)}${last.reason ? ` (${last.reason})` : ''}${last.message ? `: ${last.message}` : ''}`
    : undefined;
  const message = [waiting?.message, lastExit].filter(Boolean).join('; ');
  return { ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

/**
 * A Pod made before agents had their own ServiceAccount (ADR 0016) runs as the shared one,
 * which may read every Task of the namespace: it reports a hash no spec has, so it is rolled.
 */
function specHashOf(pod: KubeObject): { specHash?: string } {
  const hash = pod.metadata.annotations?.[SPEC_HASH_ANNOTATION];
  if (!hash) return {};
  const account = (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName;
  return { specHash: account === pod.metadata.name ? hash : `${hash}/shared-identity` };
}
