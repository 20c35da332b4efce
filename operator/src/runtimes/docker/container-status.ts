import type Docker from 'dockerode';
import { restartRequestOf, type WorkloadPhase, type WorkloadStatus } from '../runtime.ts';
import { tailOf } from './container-logs.ts';
import { RESTART_LABEL, SPEC_HASH_LABEL } from './labels.ts';

/** Cap on a status message: it ends up in an Agent condition, read by people. */
export const MESSAGE_LIMIT = 1024;

/** Docker's RFC 3339 time in ms; undefined for its zero time (0001-01-01), meaning never. */
export function dockerTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

function phaseOf(state: Docker.ContainerInspectInfo['State']): WorkloadPhase {
  if (state.Running || state.Restarting) return 'Running';
  if (state.Status === 'created') return 'Pending';
  if (state.Status === 'exited' || state.Status === 'dead' || state.Dead) return 'Exited';
  return 'Unknown';
}

/** True when the container ended badly, so its last output is worth reading. */
export function endedInFailure(info: Docker.ContainerInspectInfo): boolean {
  return phaseOf(info.State) === 'Exited' && (info.State.ExitCode !== 0 || info.State.OOMKilled);
}

function messageOf(error: string, output: string | undefined): string | undefined {
  const head = error.trim().slice(0, MESSAGE_LIMIT);
  const room = MESSAGE_LIMIT - Buffer.byteLength(head) - (head ? 1 : 0);
  const tail = output === undefined ? '' : tailOf(output, room);
  const message = [head, tail].filter((part) => part !== '').join('\n');
  return message === '' ? undefined : message;
}

/**
 * What an inspected container says about the Agent's workload. `output` is the end of
 * its log, read by the caller for a failed exit (see endedInFailure).
 */
export function statusOf(info: Docker.ContainerInspectInfo, output?: string): WorkloadStatus {
  const { State: state } = info;
  const phase = phaseOf(state);
  const status: WorkloadStatus = {
    kind: 'Container',
    name: info.Name.replace(/^\//, ''),
    id: info.Id,
    phase,
    restarts: info.RestartCount,
  };
  // The engine sends null, not {}, for a container without labels.
  const labels = info.Config.Labels as Readonly<Record<string, string>> | null;
  const specHash = labels?.[SPEC_HASH_LABEL];
  if (specHash !== undefined) status.specHash = specHash;
  const restartRequest = restartRequestOf(labels?.[RESTART_LABEL]);
  if (restartRequest !== undefined) status.restartRequest = restartRequest;
  if (phase === 'Exited') {
    status.exitCode = state.ExitCode;
    status.reason = state.OOMKilled ? 'OOMKilled' : state.ExitCode !== 0 ? 'Error' : 'Completed';
  } else if (phase === 'Pending' && state.Error) {
    // Created but its start failed (a command not in the image, say).
    status.reason = 'StartError';
  } else if (phase === 'Unknown') {
    status.reason = state.Status.charAt(0).toUpperCase() + state.Status.slice(1);
  }
  const message = messageOf(state.Error, phase === 'Exited' ? output : undefined);
  if (message !== undefined) status.message = message;
  const startedAt = dockerTime(state.StartedAt);
  if (startedAt !== undefined) status.startedAt = startedAt;
  const finishedAt = dockerTime(state.FinishedAt);
  if (finishedAt !== undefined && phase !== 'Running') status.finishedAt = finishedAt;
  if (phase === 'Exited' && finishedAt !== undefined && status.reason !== undefined)
    status.lastExit = { reason: status.reason, exitCode: state.ExitCode, finishedAt };
  return status;
}
