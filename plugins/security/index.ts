import { z } from 'zod';
import { definePlugin, type AgentReview } from '../../operator/src/framework/index.ts';
import { securitySettings, type SecuritySettings } from './config.ts';
import { securityJudge } from './judge.ts';

/** The Ready reason and Event reason of an Agent the policy refuses to start. */
export const REASON = 'SecurityPolicy';

/** The agent review the operator runs before it starts a workload; none while the policy is off. */
export function securityReview(settings: SecuritySettings): AgentReview | undefined {
  if (!settings.enabled) return undefined;
  const judge = securityJudge(settings);
  return {
    enforcement: settings.validationActions.includes('Deny') ? 'Deny' : 'Warn',
    reason: REASON,
    review: (agent) => judge(agent).map(({ field, message }) => ({ field, message })),
  };
}

/**
 * Policy enforcement for Agents (image allowlist, resource limits, RuntimeClass, Secrets
 * in env, Docker engines and devices). Its settings are operator-wide (the chart's
 * `security` values), not a namespace's: spec.plugins.security takes nothing, so a policy
 * an agent's team may edit cannot relax it.
 */
export const security = definePlugin({
  name: 'security',
  config: z.strictObject({}).describe('Nothing per namespace: the security policy is set where the operator is installed.'),
  settings: securitySettings,
  agentReview: securityReview,
});
