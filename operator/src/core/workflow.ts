// Workflows: Tasks that name other Tasks of their namespace in spec.dependsOn form a DAG.
// The task controller gathers the namespace's Tasks as TaskNodes and asks, per Task,
// whether it may be queued. Pure: the caller builds the map from its cache.

export interface TaskNode {
  name: string;
  dependsOn: readonly string[];
  /** Pending, Blocked, Assigned, Running, Succeeded, Failed, Cancelled; undefined before the first status. */
  phase: string | undefined;
  /** Failed or Cancelled for good: no retries left. */
  terminal: boolean;
}

export type DependencyVerdict =
  | { state: 'ready' }
  | { state: 'waiting'; reason: 'DependenciesPending' | 'DependencyMissing'; message: string; names: string[] }
  | { state: 'failed'; reason: 'DependencyFailed'; message: string; names: string[] }
  /** `cycle`: each Task depends on the next, the last on the first. */
  | { state: 'cycle'; reason: 'DependencyCycle'; message: string; cycle: string[] };

const MAX_NAMES = 5;

// Capped so that a wide fan-in cannot blow up a condition message.
function list(names: readonly string[], separator = ', '): string {
  const shown = names.slice(0, MAX_NAMES).join(separator);
  return names.length > MAX_NAMES ? `${shown} … and ${names.length - MAX_NAMES} more` : shown;
}

const noun = (names: readonly string[]): string => (names.length === 1 ? 'dependency' : 'dependencies');

export function evaluateDependencies(task: TaskNode, all: ReadonlyMap<string, TaskNode>): DependencyVerdict {
  // The task as given wins over a possibly older copy of it in the map.
  const lookup = (name: string): TaskNode | undefined => (name === task.name ? task : all.get(name));

  const cycle = findCycle(task, lookup);
  if (cycle) {
    const [first] = cycle;
    const path =
      cycle.length > MAX_NAMES ? `${cycle.slice(0, MAX_NAMES).join(' → ')} → … (${cycle.length - MAX_NAMES} more)` : cycle.join(' → ');
    return { state: 'cycle', reason: 'DependencyCycle', message: `dependency cycle: ${path} → ${first ?? ''}`, cycle };
  }

  const deps = [...new Set(task.dependsOn)].sort();
  const nodes = deps.map((name) => ({ name, node: lookup(name) }));
  // Only direct dependencies count: one that failed because of its own dependency is
  // itself terminal by then, so failure travels down the chain one link at a time.
  const failed = nodes.filter(({ node }) => node !== undefined && node.phase !== 'Succeeded' && node.terminal);
  if (failed.length > 0) {
    const names = failed.map(({ name }) => name);
    const cancelled = failed.filter(({ node }) => node?.phase === 'Cancelled').length;
    const verb =
      cancelled === 0
        ? 'failed'
        : cancelled < failed.length
          ? 'failed or were cancelled'
          : names.length === 1
            ? 'was cancelled'
            : 'were cancelled';
    return { state: 'failed', reason: 'DependencyFailed', message: `${noun(names)} ${list(names)} ${verb}`, names };
  }

  // A missing dependency may yet be created (workflows are often applied in one go and
  // land in any order), so it is waited for, not failed.
  const missing = nodes.filter(({ node }) => node === undefined).map(({ name }) => name);
  if (missing.length > 0) {
    const message = `${noun(missing)} ${list(missing)} ${missing.length === 1 ? 'does' : 'do'} not exist yet`;
    return { state: 'waiting', reason: 'DependencyMissing', message, names: missing };
  }

  const pending = nodes.filter(({ node }) => node?.phase !== 'Succeeded').map(({ name }) => name);
  if (pending.length > 0) {
    return {
      state: 'waiting',
      reason: 'DependenciesPending',
      message: `waiting for ${noun(pending)} ${list(pending)} to succeed`,
      names: pending,
    };
  }
  return { state: 'ready' };
}

/**
 * A cycle reachable from `start` along dependsOn, or undefined. Iterative DFS (a
 * namespace may hold long chains); dependencies are visited in sorted order so the same
 * graph always reports the same cycle.
 */
function findCycle(start: TaskNode, lookup: (name: string) => TaskNode | undefined): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [start.name];
  const onPath = new Set(path);
  const stack = [{ deps: sortedDeps(start), next: 0 }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const dep = top.deps[top.next++];
    if (dep === undefined) {
      const name = path.pop();
      if (name !== undefined) {
        onPath.delete(name);
        done.add(name);
      }
      stack.pop();
      continue;
    }
    if (onPath.has(dep)) return path.slice(path.indexOf(dep));
    const node = done.has(dep) ? undefined : lookup(dep);
    if (!node) continue;
    path.push(dep);
    onPath.add(dep);
    stack.push({ deps: sortedDeps(node), next: 0 });
  }
  return undefined;
}

const sortedDeps = (node: TaskNode): string[] => [...new Set(node.dependsOn)].sort();

/**
 * The Tasks in an order that runs every dependency before its dependents (Kahn's
 * algorithm, ties kept in input order), or undefined when there is a cycle. Dependencies
 * outside `nodes` are ignored.
 */
export function topologicalOrder(nodes: readonly TaskNode[]): string[] | undefined {
  const byName = new Map<string, TaskNode>();
  for (const node of nodes) if (!byName.has(node.name)) byName.set(node.name, node);

  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of byName.values()) {
    const deps = new Set(node.dependsOn.filter((d) => byName.has(d)));
    waitingOn.set(node.name, deps.size);
    for (const dep of deps) {
      const known = dependents.get(dep);
      if (known) known.push(node.name);
      else dependents.set(dep, [node.name]);
    }
  }

  const order = [...byName.keys()].filter((name) => waitingOn.get(name) === 0);
  for (let i = 0; i < order.length; i++) {
    for (const dependent of dependents.get(order[i] ?? '') ?? []) {
      const left = (waitingOn.get(dependent) ?? 0) - 1;
      waitingOn.set(dependent, left);
      if (left === 0) order.push(dependent);
    }
  }
  return order.length === byName.size ? order : undefined;
}
