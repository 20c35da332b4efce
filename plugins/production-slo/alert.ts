// A change of an SLO's verdict as an Alertmanager webhook payload (version 4), so any
// receiver written for Alertmanager (chat bridges, paging services) takes it as it is:
// firing when the SLO starts burning (or its budget is spent), resolved when it is back
// within budget. The labels and annotations match the chart's generated alerts.
import type { Hook } from '../../operator/src/framework/index.ts';
import type { Health } from './burn.ts';
import type { z } from 'zod';
import type { alertWebhook, Slo } from './config.ts';

const ALERTS: Record<Exclude<Health, 'WithinBudget'>, { name: string; severity: string }> = {
  FastBurn: { name: 'AgentOrchestratorSLOFastBurn', severity: 'critical' },
  SlowBurn: { name: 'AgentOrchestratorSLOSlowBurn', severity: 'warning' },
  BudgetExhausted: { name: 'AgentOrchestratorSLOBudgetExhausted', severity: 'warning' },
};

const iso = (ms: number): string => new Date(ms).toISOString();

export interface Transition {
  readonly namespace: string;
  readonly policy: string;
  readonly slo: Slo;
  readonly from: Health;
  readonly to: Health;
  readonly message: string;
  /** When the verdict changed (now), and when the alert that resolves began (the condition's lastTransitionTime). */
  readonly at: number;
  readonly since: number;
}

/**
 * The webhook delivery for a change of verdict: the new alert firing, and the one it
 * replaces resolved (fast burn turning into slow burn is both); undefined when neither
 * verdict is an alert (cannot happen: a change always involves one).
 */
export function alertHook(t: Transition, endpoint: z.output<typeof alertWebhook>): Hook | undefined {
  const alert = (health: Health, status: 'firing' | 'resolved'): Record<string, unknown> | undefined => {
    if (health === 'WithinBudget') return undefined;
    const which = ALERTS[health];
    const firing = status === 'firing';
    return {
      status,
      labels: { alertname: which.name, namespace: t.namespace, slo: t.slo.name, policy: t.policy, severity: which.severity },
      annotations: {
        summary: `SLO ${t.slo.name} of ${t.namespace}: ${firing ? health : 'no longer'} ${firing ? '' : health}`.trim(),
        description: t.message,
      },
      startsAt: iso(firing ? t.at : t.since),
      endsAt: firing ? '0001-01-01T00:00:00Z' : iso(t.at),
      generatorURL: '',
      fingerprint: `${t.namespace}/${t.slo.name}/${which.name}`,
    };
  };
  const alerts = [alert(t.to, 'firing'), alert(t.from, 'resolved')].filter((a) => a !== undefined);
  const first = alerts[0];
  if (first === undefined) return undefined;
  const status = t.to === 'WithinBudget' ? 'resolved' : 'firing';
  const payload = {
    version: '4',
    groupKey: `{}:{namespace="${t.namespace}", slo="${t.slo.name}"}`,
    truncatedAlerts: 0,
    status,
    receiver: 'agent-orchestrator',
    groupLabels: { namespace: t.namespace, slo: t.slo.name },
    commonLabels: { namespace: t.namespace, slo: t.slo.name, policy: t.policy },
    commonAnnotations: {},
    externalURL: '',
    alerts,
  };
  return {
    endpoint: 'alertWebhook',
    url: endpoint.url,
    event: {
      specversion: '1.0',
      // One id per change: a repeat of the same change is dropped by the client.
      id: `${t.namespace}.${t.slo.name}.${t.to}.${String(t.at)}`,
      source: `/apis/agents.orchestrator.dev/v1alpha1/namespaces/${t.namespace}/orchestratorpolicies/${t.policy}`,
      type: 'dev.orchestrator.slo.alert',
      subject: t.slo.name,
      time: iso(t.at),
      datacontenttype: 'application/json',
      data: payload,
    },
    body: 'data',
    signingSecret: endpoint.signingSecret,
    timeoutMs: endpoint.timeoutSeconds * 1000,
    retries: endpoint.retries,
    backoffMs: 1000,
    failurePolicy: 'Ignore',
  };
}
