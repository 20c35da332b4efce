// Turns plans into objects: names (some as long as the schema allows), namespaces, and
// the dependencies and pins resolved into the names they point at.
import { API_VERSION } from '../operator/src/api/common.ts';
import type { Json, Plan } from './objects.ts';

/** Label of the Agents a simulated runner serves. */
export const RUNNER_LABEL = 'fuzz.agent-orchestrator.dev/runner';

export interface Placed {
  plan: Plan;
  /** Index in the whole run, for messages and replays. */
  index: number;
  namespace: string;
  name: string;
  body: { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec: Record<string, Json> };
}

/** A DNS label of at most `max` characters ending in `suffix`; every 7th is the longest allowed. */
function labelName(prefix: string, i: number, max: number): string {
  const suffix = `${prefix}-${i}`;
  return i % 7 === 3 ? `${'z'.repeat(max - suffix.length - 1)}-${suffix}` : suffix;
}

/** A DNS subdomain: every 11th is 253 characters with dots. */
function subdomainName(prefix: string, i: number): string {
  const suffix = `${prefix}-${i}`;
  if (i % 11 !== 5) return suffix;
  const head = `${'q'.repeat(62)}.${'0'.repeat(62)}.${'w'.repeat(62)}.`;
  return `${head}${'e'.repeat(253 - head.length - suffix.length - 1)}-${suffix}`;
}

/**
 * Places `batches` (groups of plans that belong together) round-robin over `namespaces`,
 * names every object and resolves what tasks point at. Deterministic for the same input.
 */
export function place(batches: readonly Plan[][], namespaces: readonly string[], limit: number): Placed[] {
  const placed: Placed[] = [];
  batches.forEach((batch, b) => {
    const namespace = namespaces[b % namespaces.length] ?? 'default';
    for (const plan of batch) {
      if (placed.length >= limit) return;
      const index = placed.length;
      const name =
        plan.kind === 'Agent'
          ? labelName('a', index, 63)
          : plan.kind === 'OrchestratorPolicy'
            ? labelName('p', index, 63)
            : subdomainName('t', index);
      placed.push({
        plan,
        index,
        namespace,
        name,
        body: {
          apiVersion: API_VERSION,
          kind: plan.kind,
          metadata: { name, ...(plan.kind === 'Agent' && plan.runner ? { labels: { [RUNNER_LABEL]: 'true' } } : {}) },
          spec: plan.spec,
        },
      });
    }
  });
  resolve(placed);
  return placed;
}

function resolve(placed: Placed[]): void {
  const runners = new Map<string, string[]>();
  const tasks = new Map<string, string[]>();
  for (const p of placed) {
    if (p.plan.kind === 'Agent' && p.plan.runner) runners.set(p.namespace, [...(runners.get(p.namespace) ?? []), p.name]);
    if (p.plan.kind === 'Task') tasks.set(p.namespace, [...(tasks.get(p.namespace) ?? []), p.name]);
  }
  for (const p of placed) {
    if (p.plan.kind !== 'Task') continue;
    const spec = { ...p.body.spec };
    const names = new Set<string>();
    for (const dep of p.plan.dependsOn) {
      if (dep === 'missing') names.add(`never-created-${p.index}`);
      else if (dep === 'any') {
        const all = tasks.get(p.namespace) ?? [];
        const other = all[(p.index * 7919) % Math.max(all.length, 1)];
        if (other !== undefined) names.add(other);
      } else {
        const target = placed[p.index + dep.offset];
        if (target && target.plan.kind === 'Task' && target.namespace === p.namespace) names.add(target.name);
      }
    }
    // A task may not depend on itself (the API server refuses it; the fuzz tries it anyway
    // now and then through 'any').
    if (names.size > 0) spec.dependsOn = [...names].slice(0, 64);
    if (p.plan.pin) {
      const pool = runners.get(p.namespace) ?? [];
      const agent = p.plan.pin === 'runner' && pool.length > 0 ? pool[p.index % pool.length] : `ghost-${p.index}`;
      const affinity = (spec.affinity ?? {}) as Record<string, Json>;
      spec.affinity = { ...affinity, agent: agent ?? `ghost-${p.index}` };
    }
    p.body.spec = spec;
  }
}
