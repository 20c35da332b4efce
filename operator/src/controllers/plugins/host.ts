import type { Registry } from 'prom-client';
import type { Intent } from '../../framework/lifecycle.ts';
import type { PluginRegistry } from '../../framework/registry.ts';
import { PluginHealth } from './health.ts';

type PoolIntent = Extract<Intent, { kind: 'pool' }>;

/** Pool bounds lifecycle plugins asked for on their last tick, per namespace; the autoscaler reads them. */
export class PoolBounds {
  private readonly byNamespace = new Map<string, ReadonlyMap<string, readonly PoolIntent[]>>();
  private readonly listeners: ((namespace: string) => void)[] = [];

  /** Called when a namespace's bounds change (the policy controller looks again). */
  onChange(listener: (namespace: string) => void): void {
    this.listeners.push(listener);
  }

  set(namespace: string, byPlugin: ReadonlyMap<string, readonly PoolIntent[]>): void {
    const before = JSON.stringify([...(this.byNamespace.get(namespace) ?? new Map<string, readonly PoolIntent[]>())]);
    if (byPlugin.size === 0) this.byNamespace.delete(namespace);
    else this.byNamespace.set(namespace, byPlugin);
    if (JSON.stringify([...byPlugin]) !== before) for (const l of this.listeners) l(namespace);
  }

  /** The bounds for one pool, each with the plugin that set it. */
  for(namespace: string, pool: string): { plugin: string; bounds: PoolIntent }[] {
    return [...(this.byNamespace.get(namespace) ?? [])].flatMap(([plugin, list]) => list.filter((b) => b.pool === pool).map((bounds) => ({ plugin, bounds })));
  }
}

/** What the controllers share about plugins: the registry main.ts built, their health, pool bounds. */
export interface Plugins {
  readonly registry: PluginRegistry;
  readonly health: PluginHealth;
  readonly pools: PoolBounds;
  /** Milliseconds one plugin may spend on one task at one point, or on one tick (--plugin-time-budget). */
  readonly budgetMs: number;
}

export function pluginsOf(registry: PluginRegistry, metrics: Registry, budgetMs: number): Plugins {
  return { registry, health: new PluginHealth(metrics), pools: new PoolBounds(), budgetMs };
}
