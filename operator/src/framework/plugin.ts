import type { z } from 'zod';
import type { AgentReview } from './agent-review.ts';
import type { LifecyclePlugin } from './lifecycle.ts';
import type { RoutingPlugin } from './types.ts';

/** What a plugin brings once configured: the extension points it serves. */
export interface PluginInstance {
  readonly routing?: RoutingPlugin;
  readonly lifecycle?: LifecyclePlugin;
}

/**
 * A rule the chart renders into the plugin ValidatingAdmissionPolicy, so bad objects are
 * refused by the API server when they are applied, before the operator sees them.
 */
export interface AdmissionRule {
  readonly resource: 'agents' | 'tasks' | 'orchestratorpolicies';
  /**
   * CEL over `object` (and `oldObject` on UPDATE; null on CREATE) and `request`: true
   * admits. `variables.operator` is the operator's own user name
   * (system:serviceaccount:<namespace>:<name>), for rules that reserve a field to it.
   */
  readonly expression: string;
  /** Operations it checks (default CREATE and UPDATE). */
  readonly operations?: readonly ('CREATE' | 'UPDATE')[];
  /** What the user reads: name the field and the fix. */
  readonly message: string;
  readonly reason?: 'Invalid' | 'Forbidden';
}

/** A plugin as the registry holds it: a name, a config schema and a factory. */
export interface Plugin {
  readonly name: string;
  /** Validates OrchestratorPolicy.spec.plugins.<name> (without `enabled`) and fills in defaults. */
  readonly config: z.ZodType;
  /** Builds the plugin from a config `config` accepts; throws on one it rejects. */
  create(config: unknown): PluginInstance;
  readonly admission: readonly AdmissionRule[];
  /**
   * Settings that live outside spec.plugins.<name> for compatibility (the circuit
   * breaker's spec.circuitBreaker): the base its spec.plugins entry is merged over.
   */
  readonly settingsFrom?: ((spec: Readonly<Record<string, unknown>>) => Readonly<Record<string, unknown>> | undefined) | undefined;
  /**
   * Operator-wide settings (--plugin-settings {"<name>": ...}): what whoever installs the
   * operator decides and a namespace's policy cannot change. Must accept {}.
   */
  readonly settings?: z.ZodType | undefined;
  /** Builds the agent review from parsed `settings`; undefined when it reviews nothing (turned off). */
  readonly agentReview?: ((settings: unknown) => AgentReview | undefined) | undefined;
}

export interface PluginDefinition<S extends z.ZodType, O extends z.ZodType = z.ZodType> {
  /** Lowercase letters, digits and '-': the key under spec.plugins. */
  readonly name: string;
  readonly config: S;
  readonly routing?: (config: z.output<S>) => RoutingPlugin;
  readonly lifecycle?: (config: z.output<S>) => LifecyclePlugin;
  readonly admission?: readonly AdmissionRule[];
  readonly settingsFrom?: Plugin['settingsFrom'];
  /** Operator-wide settings (see Plugin.settings) and the agent review built from them. */
  readonly settings?: O;
  readonly agentReview?: (settings: z.output<O>) => AgentReview | undefined;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * One definition per plugin: its name, its config schema and a factory per extension
 * family. The factories receive the parsed config, so a plugin never sees raw YAML.
 */
export function definePlugin<S extends z.ZodType, O extends z.ZodType = z.ZodType>(definition: PluginDefinition<S, O>): Plugin {
  const { name, config, routing, lifecycle, settings, agentReview } = definition;
  if (!NAME.test(name) || name.length > 63) {
    throw new Error(`plugin name "${name}" must be lowercase letters, digits and '-', at most 63 characters`);
  }
  return {
    name,
    config,
    create(raw) {
      const parsed = config.parse(raw);
      return { ...(routing ? { routing: routing(parsed) } : {}), ...(lifecycle ? { lifecycle: lifecycle(parsed) } : {}) };
    },
    admission: definition.admission ?? [],
    settingsFrom: definition.settingsFrom,
    ...(settings ? { settings } : {}),
    ...(agentReview ? { agentReview: (raw: unknown) => agentReview(raw as z.output<O>) } : {}),
  };
}
