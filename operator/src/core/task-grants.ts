/**
 * Which Tasks an agent's Role names (ADR 0016). RBAC can narrow reads only by name, so the
 * Role lists the Tasks the agent may read and those whose status it may write.
 */
export interface TaskGrants {
  /** Its Tasks and the Tasks they depend on (their results are its inputs). */
  read: readonly string[];
  /** Its Tasks: assigned to it and not finished. */
  write: readonly string[];
}

export const NO_GRANTS: TaskGrants = { read: [], write: [] };

/** What the grants need to know of a Task. */
export interface GrantTask {
  name: string;
  /** status.assignment.agent */
  agent: string | undefined;
  /** Finished for good (task-lifecycle.ts isTerminal). */
  finished: boolean;
  dependsOn: readonly string[];
}

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

/**
 * The grants `agent` needs for `assigned` (the Tasks assigned to it, finished or not): a
 * dependency only while it exists, as a name with no Task behind it is free for anyone's.
 */
export function desiredGrants(agent: string, assigned: readonly GrantTask[], lookup: (name: string) => GrantTask | undefined): TaskGrants {
  const live = assigned.filter((t) => t.agent === agent && !t.finished);
  const write = sorted(live.map((t) => t.name));
  const dependencies = live.flatMap((t) => t.dependsOn).filter((d) => lookup(d) !== undefined);
  return { write, read: sorted([...write, ...dependencies]) };
}

/**
 * The grants to write, or undefined when `applied` may stay. Everything `agent` needs must
 * be there. A name it no longer needs may stay while it still means what was granted (its
 * own finished Task, one handed back to the queue and not yet given to another agent, or a
 * dependency of one): the next write for a new task prunes it, so an agent costs one Role
 * write per assignment rather than two, and a task handed back and given to the same agent
 * again never leaves its Role (the runner, which sees the task and its Role on separate
 * watches, would otherwise stop the new attempt). A name that means something else now (the
 * Task deleted, so the name is free for someone else's; or assigned to another agent) is
 * taken away at once.
 */
export function planGrants(
  agent: string,
  applied: TaskGrants | undefined,
  assigned: readonly GrantTask[],
  lookup: (name: string) => GrantTask | undefined,
  /** The agent has a workload: its runner needs the Role even with no Task to name. */
  hasWorkload = false,
): TaskGrants | undefined {
  const desired = desiredGrants(agent, assigned, lookup);
  // No Role and nothing to name: the runtime creates it before the workload, so only one
  // gone since (deleted by hand, or with an Agent of the same name) is made again here.
  if (!applied) return hasWorkload || desired.write.length > 0 || desired.read.length > 0 ? desired : undefined;
  const mine = (name: string): boolean => {
    const task = lookup(name);
    return task !== undefined && (task.agent === agent || task.agent === undefined);
  };
  const ownDependencies = new Set(assigned.filter((t) => t.agent === agent).flatMap((t) => t.dependsOn));
  const stillMeant = (name: string): boolean => mine(name) || (ownDependencies.has(name) && lookup(name) !== undefined);
  const holds = (have: readonly string[], need: readonly string[], keep: (name: string) => boolean): boolean => {
    const set = new Set(have);
    return need.every((n) => set.has(n)) && have.every((n) => need.includes(n) || keep(n));
  };
  return holds(applied.write, desired.write, mine) && holds(applied.read, desired.read, stillMeant) ? undefined : desired;
}
