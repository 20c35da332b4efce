import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { GuardOptions } from '../../framework/guard.ts';
import type { Intent } from '../../framework/lifecycle.ts';
import type { PluginRegistry } from '../../framework/registry.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { Policies } from '../task/policies.ts';
import { PluginHealth } from './health.ts';

type PoolIntent = Extract<Intent, { kind: 'pool' }>;

/** Pool bounds lifecycle plugins asked for on their last tick, per namespace; the autoscaler reads them. */
export class PoolBounds {
  private readonly byNamespace = new Map<string, ReadonlyMap<string, readonly PoolIntent[]>>();
  private readonly listeners: ((namespace: string) => void)[] = [];
  /** Namespaces the plugins have looked at since the operator started. */
  private readonly seen = new Set<string>();

  /** Called when a namespace's bounds change (the policy controller looks again). */
  onChange(listener: (namespace: string) => void): void {
    this.listeners.push(listener);
  }

  set(namespace: string, byPlugin: ReadonlyMap<string, readonly PoolIntent[]>): void {
    this.seen.add(namespace);
    const before = JSON.stringify([...(this.byNamespace.get(namespace) ?? new Map<string, readonly PoolIntent[]>())]);
    if (byPlugin.size === 0) this.byNamespace.delete(namespace);
    else this.byNamespace.set(namespace, byPlugin);
    if (JSON.stringify([...byPlugin]) !== before) for (const l of this.listeners) l(namespace);
  }

  /**
   * Whether the plugins have looked at the namespace since the operator started: until
   * then no bounds does not mean that none hold (a night window must not wake a pool
   * because the operator restarted).
   */
  known(namespace: string): boolean {
    return this.seen.has(namespace);
  }

  /** What one plugin asked for on its last tick that counted (kept when a tick of it fails). */
  of(namespace: string, plugin: string): readonly PoolIntent[] {
    return this.byNamespace.get(namespace)?.get(plugin) ?? [];
  }

  /** The bounds for one pool, each with the plugin that set it. */
  for(namespace: string, pool: string): { plugin: string; bounds: PoolIntent }[] {
    return [...(this.byNamespace.get(namespace) ?? [])].flatMap(([plugin, list]) =>
      list.filter((b) => b.pool === pool).map((bounds) => ({ plugin, bounds })),
    );
  }
}

/** One entry of a policy's status.plugins: what a plugin's host work (webhook deliveries) came to. */
export interface PluginReport {
  readonly name: string;
  /** Counts and per-endpoint trouble, in words that change only when the counts do. */
  readonly message: string;
  readonly lastFailureTime?: string;
  readonly lastFailure?: string;
}

/**
 * Reports about plugins' work done by hosts (the webhook client), per namespace and
 * plugin, kept in memory; the policy controller writes them to status.plugins. Listeners
 * hear of a change that deserves a prompt write (a first failure, a recovery); counts
 * are picked up by the policy's next reconcile.
 */
export class PluginReports {
  private readonly byNamespace = new Map<string, Map<string, PluginReport>>();
  private readonly listeners: ((namespace: string) => void)[] = [];

  onChange(listener: (namespace: string) => void): void {
    this.listeners.push(listener);
  }

  /** Sets (or with undefined, removes) a plugin's report; `notify` tells the policy controller at once. */
  set(namespace: string, plugin: string, report: Omit<PluginReport, 'name'> | undefined, notify = false): void {
    let plugins = this.byNamespace.get(namespace);
    if (report === undefined) {
      plugins?.delete(plugin);
      if (plugins?.size === 0) this.byNamespace.delete(namespace);
    } else {
      if (plugins === undefined) this.byNamespace.set(namespace, (plugins = new Map<string, PluginReport>()));
      plugins.set(plugin, { name: plugin, ...report });
    }
    if (notify) for (const l of this.listeners) l(namespace);
  }

  /** The namespace's reports, by plugin name. */
  for(namespace: string): PluginReport[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
  }
}

/** What the controllers share about plugins: the registry main.ts built, their health, pool bounds, reports. */
export interface Plugins {
  readonly registry: PluginRegistry;
  readonly health: PluginHealth;
  readonly pools: PoolBounds;
  /** What hosts did for plugins (webhook deliveries), for the policy's status.plugins. */
  readonly reports: PluginReports;
  /** Milliseconds one plugin may spend on one task at one point, or on one tick (--plugin-time-budget). */
  readonly budgetMs: number;
  /**
   * The configured plugins of each namespace, read from the policy cache: one instance
   * for the router and the lifecycle host, so a policy's plugins are built once and a
   * rejected configuration is logged once.
   */
  namespacePolicies(informer: SharedInformer<KubeObject>, logger: Logger): Policies;
}

/** How every plugin call is timed, bounded and observed, by the router and the lifecycle host alike. */
export function guardOptions(plugins: Plugins): GuardOptions {
  return {
    timer: () => performance.now(),
    budgetMs: plugins.budgetMs,
    observe: (plugin, point, seconds) => {
      plugins.health.observe(plugin, point, seconds);
    },
  };
}

export function pluginsOf(registry: PluginRegistry, metrics: Registry, budgetMs: number): Plugins {
  const policies = new WeakMap<SharedInformer<KubeObject>, Policies>();
  return {
    registry,
    health: new PluginHealth(metrics),
    pools: new PoolBounds(),
    reports: new PluginReports(),
    budgetMs,
    namespacePolicies(informer, logger) {
      let shared = policies.get(informer);
      if (shared === undefined) policies.set(informer, (shared = new Policies(informer, registry, logger)));
      return shared;
    },
  };
}
