import type { Logger } from 'pino';
import { policy as policySchema, type PolicySpec, type PolicyStatus } from '../../api/policy.ts';
import type { Profile } from '../../framework/cycle.ts';
import type { PluginInstance } from '../../framework/plugin.ts';
import type { Built, BuildResult, PluginRegistry } from '../../framework/registry.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { governingPolicy } from '../../core/governing-policy.ts';
import type { Price } from '../../core/accounting.ts';

/** What the task controller takes from a namespace's OrchestratorPolicy (or the defaults). */
export interface NamespacePolicy {
  profile: Profile;
  /** Every enabled plugin, configured for the namespace, by name. */
  plugins: ReadonlyMap<string, PluginInstance>;
  retries: { max: number; backoffMs: number };
  /** spec.accounting: a task's cost is set from these prices when it ends. */
  accounting: { currency: string; prices: readonly Price[] };
}

type InForce = NonNullable<PolicyStatus['inForce']>;
interface ParsedPolicy {
  spec: PolicySpec;
  inForce?: InForce | undefined;
}

const DEFAULT_SPEC: PolicySpec = policySchema.parse({}).spec;

/**
 * The policy in force per namespace, read from the cache on every use (a change applies
 * to the next routing cycle, no restart). A policy whose routing does not build keeps
 * the last profile that did (or the default Balanced one): bad config never stops routing.
 */
export class Policies {
  private readonly informer: SharedInformer<KubeObject>;
  private readonly log: Logger;
  private readonly parsed = new Map<string, { version: string; policy: ParsedPolicy }>();
  private readonly built = new Map<string, { version: string; result: BuildResult }>();
  private readonly lastGood = new Map<string, Built>();
  private readonly fallback: Built;
  private readonly plugins: PluginRegistry;

  constructor(informer: SharedInformer<KubeObject>, plugins: PluginRegistry, logger: Logger) {
    this.informer = informer;
    this.plugins = plugins;
    this.log = logger;
    const result = plugins.build(DEFAULT_SPEC.routing, undefined, DEFAULT_SPEC);
    if (!result.profile) throw new Error(`the default plugin configuration does not build: ${result.errors.join('; ')}`);
    this.fallback = result;
  }

  for(namespace: string): NamespacePolicy {
    const { spec, inForce } = this.policyOf(namespace);
    const { profile, instances } = this.builtOf(namespace, spec, inForce);
    return {
      profile,
      plugins: instances,
      retries: { max: spec.retries.max, backoffMs: spec.retries.backoffSeconds * 1000 },
      accounting: { currency: spec.accounting?.currency ?? 'USD', prices: spec.accounting?.prices ?? [] },
    };
  }

  /**
   * The policy that governs the namespace (the oldest; the policy controller flags the
   * others), parsed once per version: every task and agent reconcile asks for it.
   */
  private policyOf(namespace: string): ParsedPolicy {
    const governing = governingPolicyOf(this.informer.list(), namespace);
    if (!governing) return { spec: DEFAULT_SPEC };
    const version = `${governing.metadata.uid ?? ''}/${governing.metadata.resourceVersion ?? ''}`;
    const cached = this.parsed.get(namespace);
    if (cached?.version === version) return cached.policy;
    const parsed = policySchema.safeParse(governing);
    const policy = parsed.success ? { spec: parsed.data.spec, inForce: parsed.data.status?.inForce } : { spec: DEFAULT_SPEC };
    this.parsed.set(namespace, { version, policy });
    return policy;
  }

  private builtOf(namespace: string, spec: PolicySpec, inForce: InForce | undefined): Built {
    const version = JSON.stringify(spec);
    let cached = this.built.get(namespace);
    if (cached?.version !== version) {
      cached = { version, result: this.plugins.build(spec.routing, spec.plugins, spec) };
      this.built.set(namespace, cached);
      if (cached.result.errors.length)
        this.log.warn({ namespace, errors: cached.result.errors }, 'plugin configuration rejected; keeping the last good one');
    }
    if (cached.result.profile) {
      this.lastGood.set(namespace, cached.result);
      return cached.result;
    }
    const last = this.lastGood.get(namespace);
    if (last) return last;
    // Since a restart no good profile was seen here: the one the policy controller last
    // recorded as in force, then the defaults.
    const recorded = inForce ? this.plugins.build(inForce.routing, inForce.plugins, spec) : undefined;
    if (recorded?.profile) {
      this.lastGood.set(namespace, recorded);
      return recorded;
    }
    return this.fallback;
  }
}

/** The policy in force in a namespace, of those in the cache. */
export function governingPolicyOf(policies: readonly KubeObject[], namespace: string): KubeObject | undefined {
  const refs = policies
    .filter((p) => p.metadata.namespace === namespace)
    .map((object) => ({ object, name: object.metadata.name ?? '', createdAt: Date.parse(object.metadata.creationTimestamp ?? '') || 0 }));
  return governingPolicy(refs)?.object;
}
