// A plugin's answer at an extension point, as kube-scheduler's framework.Status: a code,
// the reason in words that fit "N agents: <reason>", and the plugin that gave it (the
// framework fills that in, so "why pending" names the plugin without trusting it to).

export type Code =
  /** The agent fits (Filter), the task may go (Permit). */
  | 'Success'
  /** Does not fit now; something that can change (waking, a slot freeing) may fix it. */
  | 'Unschedulable'
  /** Does not fit and waking or waiting will not change that (a missing capability, a leaving agent). */
  | 'UnschedulableAndUnresolvable'
  /** PreFilter: this plugin has nothing to check for the task; its Filter is skipped. */
  | 'Skip'
  /** Permit: not yet; the task stays queued and is routed again in a later cycle. */
  | 'Wait'
  /** The plugin failed (threw or ran past its time budget); the task waits, the cycle goes on. */
  | 'Error';

export interface Status {
  readonly code: Code;
  readonly reason?: string;
  /** Set by the framework: the plugin whose answer this is. */
  readonly plugin?: string;
}

export const success: Status = Object.freeze({ code: 'Success' });
export const skip: Status = Object.freeze({ code: 'Skip' });
export const unschedulable = (reason: string): Status => ({ code: 'Unschedulable', reason });
export const unresolvable = (reason: string): Status => ({ code: 'UnschedulableAndUnresolvable', reason });
export const wait = (reason: string): Status => ({ code: 'Wait', reason });
export const error = (reason: string): Status => ({ code: 'Error', reason });

/** Success and Skip let the agent (or task) through. */
export function passes(status: Status | undefined): boolean {
  return status === undefined || status.code === 'Success' || status.code === 'Skip';
}
