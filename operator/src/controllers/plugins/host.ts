import type { Registry } from 'prom-client';
import type { PluginRegistry } from '../../framework/registry.ts';
import { PluginHealth } from './health.ts';

/** What the controllers share about plugins: the registry main.ts built, and their health. */
export interface Plugins {
  readonly registry: PluginRegistry;
  readonly health: PluginHealth;
  /** Milliseconds one plugin may spend on one task at one point (--plugin-time-budget). */
  readonly budgetMs: number;
}

export function pluginsOf(registry: PluginRegistry, metrics: Registry, budgetMs: number): Plugins {
  return { registry, health: new PluginHealth(metrics), budgetMs };
}
