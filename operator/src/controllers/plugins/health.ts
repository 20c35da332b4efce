import { Counter, Histogram, type Registry } from 'prom-client';
import type { ExtensionPoint, PluginFailure } from '../../framework/types.ts';

/** A plugin failure stays on the policy's PluginDegraded condition this long after the last one. */
export const DEGRADED_FOR_MS = 5 * 60_000;

export interface Degradation {
  readonly plugin: string;
  readonly point: ExtensionPoint;
  readonly message: string;
  readonly count: number;
  readonly lastAt: number;
}

// Plugin calls take microseconds when healthy; the budget is 100 ms by default.
const BUCKETS = [1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * What the plugin calls cost and which plugins failed lately, per namespace: the router
 * and the lifecycle host report here, the policy controller turns it into the
 * PluginDegraded condition and its Events. Kept in memory: after a restart a plugin that
 * still fails shows up again at its next failure.
 */
export class PluginHealth {
  private readonly duration: Histogram<'plugin' | 'extension_point'>;
  private readonly failuresTotal: Counter<'plugin' | 'extension_point'>;
  private readonly recent = new Map<string, Map<string, Degradation>>();
  private readonly listeners: ((namespace: string) => void)[] = [];

  constructor(registry: Registry) {
    const registers = [registry];
    this.duration = new Histogram({
      name: 'agent_orchestrator_plugin_duration_seconds',
      help: 'Time of one plugin at one extension point: per task for routing points (a Filter over all candidate agents counts once), per tick for Lifecycle',
      labelNames: ['plugin', 'extension_point'],
      buckets: BUCKETS,
      registers,
    });
    this.failuresTotal = new Counter({
      name: 'agent_orchestrator_plugin_failures_total',
      help: 'Plugin calls that threw or ran past the time budget (their answers were discarded)',
      labelNames: ['plugin', 'extension_point'],
      registers,
    });
  }

  /** Called when a plugin of the namespace starts failing (the policy controller looks again). */
  onDegraded(listener: (namespace: string) => void): void {
    this.listeners.push(listener);
  }

  observe(plugin: string, point: ExtensionPoint, seconds: number): void {
    this.duration.observe({ plugin, extension_point: point }, seconds);
  }

  /** Records a failure; true when the plugin was healthy until now (worth a log line). */
  failed(namespace: string, failure: PluginFailure, now: number): boolean {
    this.failuresTotal.inc({ plugin: failure.plugin, extension_point: failure.point });
    let plugins = this.recent.get(namespace);
    if (plugins === undefined) this.recent.set(namespace, (plugins = new Map<string, Degradation>()));
    const previous = plugins.get(failure.plugin);
    const fresh = previous === undefined || now - previous.lastAt > DEGRADED_FOR_MS;
    const message = failure.task ? `${failure.message} (task ${failure.task})` : failure.message;
    plugins.set(failure.plugin, {
      plugin: failure.plugin,
      point: failure.point,
      message,
      count: fresh ? 1 : previous.count + 1,
      lastAt: now,
    });
    if (fresh) for (const listener of this.listeners) listener(namespace);
    return fresh;
  }

  /** Plugins that failed within DEGRADED_FOR_MS, by name. */
  degraded(namespace: string, now: number): Degradation[] {
    const plugins = this.recent.get(namespace);
    if (plugins === undefined) return [];
    for (const [name, d] of plugins) if (now - d.lastAt > DEGRADED_FOR_MS) plugins.delete(name);
    return [...plugins.values()].sort((a, b) => (a.plugin < b.plugin ? -1 : 1));
  }
}
