// Agent review: plugins judge an Agent's spec before the operator starts its workload, with
// settings that belong to whoever installs the operator (--plugin-settings), not to a
// namespace's policy, which the people it restricts may be able to edit. The agent
// controller calls reviewAgent before it makes a Pod or a container.
import type { z } from 'zod';
import type { Agent } from '../api/agent.ts';
import type { Plugin } from './plugin.ts';

/** One thing an Agent may not have, by a plugin's policy. */
export interface AgentViolation {
  /**
   * The offending field (spec.runtime.image), or where a required one goes
   * (spec.runtime.resources.limits.cpu): keys that are not identifiers are quoted
   * (spec.runtime.resources.limits['nvidia.com/gpu']).
   */
  readonly field: string;
  /** What is wrong and the fix, naming the setting that asks for it. */
  readonly message: string;
}

/** What a plugin's agent review does with an Agent. */
export interface AgentReview {
  /**
   * Deny: a violating Agent's workload is not started (phase Failed, Ready=False with
   * `reason`). Warn: it starts, and the violations are reported all the same.
   */
  readonly enforcement: 'Deny' | 'Warn';
  /** CamelCase reason of the Ready condition and the Events, e.g. SecurityPolicy. */
  readonly reason: string;
  /** Every violation of the Agent, in the order of its fields; empty admits it. */
  review(agent: Agent): readonly AgentViolation[];
}

/** The verdict on one Agent: every plugin's violations, each plugin once. */
export interface AgentReviewVerdict {
  /** True when some plugin that denies found a violation: the workload must not start. */
  readonly denied: boolean;
  readonly reason: string;
  /** One line naming each violation and its plugin; empty when the Agent complies. */
  readonly message: string;
  readonly violations: readonly (AgentViolation & { readonly plugin: string })[];
}

/** The plugins' agent reviews, built from the operator-wide settings. */
export interface AgentReviews {
  readonly plugins: readonly { readonly name: string; readonly review: AgentReview }[];
}

/** The Ready and PolicyCompliant reason of an Agent whose review could not be done. */
export const REVIEW_FAILED = 'PolicyReviewFailed';

/**
 * Parses --plugin-settings ({"<plugin>": settings}) with each plugin's own schema and
 * builds the reviews of the plugins that have one. Every error names its field as the
 * settings do (security.images.allow[0]: ...), which is also the chart value's path.
 */
export function agentReviewsOf(
  plugins: readonly Plugin[],
  settings: Readonly<Record<string, unknown>>,
): { reviews: AgentReviews; errors: string[] } {
  const errors: string[] = [];
  const known = plugins.filter((p) => p.settings !== undefined);
  for (const name of Object.keys(settings)) {
    if (!known.some((p) => p.name === name)) {
      errors.push(`${name}: no plugin takes operator-wide settings by that name; known: ${known.map((p) => p.name).join(', ') || 'none'}`);
    }
  }
  const reviews: { name: string; review: AgentReview }[] = [];
  for (const plugin of known) {
    const parsed = plugin.settings?.safeParse(settings[plugin.name] ?? {});
    if (!parsed?.success) {
      errors.push(...(parsed?.error.issues ?? []).flatMap((issue) => settingError(plugin.name, issue)));
      continue;
    }
    const review = plugin.agentReview?.(parsed.data);
    if (review) reviews.push({ name: plugin.name, review });
  }
  return { reviews: { plugins: reviews }, errors };
}

/**
 * Every plugin's verdict on the Agent. A review that throws denies with REVIEW_FAILED:
 * a policy that cannot be checked must not let a workload through unchecked.
 */
export function reviewAgent(reviews: AgentReviews, agent: Agent): AgentReviewVerdict {
  const violations: (AgentViolation & { plugin: string })[] = [];
  let denied = false;
  let reason = '';
  for (const { name, review } of reviews.plugins) {
    let found: readonly AgentViolation[];
    try {
      found = review.review(agent);
    } catch (err) {
      found = [
        { field: 'spec', message: `the ${name} plugin could not review the Agent: ${err instanceof Error ? err.message : String(err)}` },
      ];
      denied = true;
      reason ||= REVIEW_FAILED;
    }
    if (found.length === 0) continue;
    violations.push(...found.map((v) => ({ ...v, plugin: name })));
    if (review.enforcement === 'Deny') denied = true;
    reason ||= review.reason;
  }
  const message = violations.map((v) => `${v.message} (plugin ${v.plugin})`).join('; ');
  return { denied, reason, message, violations };
}

function settingError(plugin: string, issue: z.core.$ZodIssue): string[] {
  const at = (path: readonly PropertyKey[]): string =>
    `${plugin}${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`;
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${at([...issue.path, key])}: ${issue.message}`);
  return [`${at(issue.path)}: ${issue.message}`];
}
