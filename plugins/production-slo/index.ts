import { definePlugin, type Intent, type NamespaceSnapshot, type TaskObject } from '../../operator/src/framework/index.ts';
import { burnOf, burnOfTime, burnThresholds, healthOf, WINDOWS, type Burn, type Health, type Window } from './burn.ts';
import { alertHook } from './alert.ts';
import { indicators, MAX_SLOS, productionSloConfig, type ProductionSloConfig, type Slo } from './config.ts';
import { badTimeOf, eventOf, type BadTime, type SliEvent } from './indicator.ts';

export { productionSloConfig, type ProductionSloConfig } from './config.ts';
export const conditionType = (slo: string): string => `SLOHealthy-${slo}`;

const percent = (ratio: number): string => `${Math.max(0, Math.round(ratio * 100))}%`;

function what(slo: Slo): string {
  const scope = slo.capability === undefined ? 'tasks' : `${slo.capability} tasks`;
  if (slo.indicator === 'SuccessRatio') return `${slo.objectivePercent}% of ${scope} that end succeed`;
  if (slo.indicator === 'QueueAge') {
    return `${slo.objectivePercent}% of the time no ${slo.capability === undefined ? 'task' : `${slo.capability} task`} waits longer than ${slo.thresholdSeconds ?? 0}s for an agent`;
  }
  const verb = slo.indicator === 'AssignmentLatency' ? 'assigned within' : 'ended within';
  const of = slo.indicator === 'AssignmentLatency' ? 'of being ready' : 'of creation';
  return `${slo.objectivePercent}% of ${scope} ${verb} ${slo.thresholdSeconds ?? 0}s ${of}`;
}

/**
 * The condition's message: what is promised, the state, and the budget left to the whole
 * percent. Live burn rates are metrics, not words here: a message that changed on every
 * tick would cost a status write on every tick.
 */
export function messageOf(slo: Slo, health: Health, burn: Burn): string {
  const t = burnThresholds(slo.windowDays);
  const fmt = (n: number): string => String(Number(n.toFixed(2)));
  const budget = `error budget left ${percent(burn.budgetLeft)} of ${slo.windowDays}d (from the tasks the API server holds)`;
  switch (health) {
    case 'FastBurn':
      return `${what(slo)}: the error budget burns fast, over ${fmt(t.fast)}x in the last hour and the last 5 minutes (2% of the ${slo.windowDays}d budget an hour); ${budget}`;
    case 'SlowBurn':
      return `${what(slo)}: the error budget burns, over ${fmt(t.slow)}x in the last 6 hours and the last 30 minutes (5% of the ${slo.windowDays}d budget in 6 hours); ${budget}`;
    case 'BudgetExhausted':
      return `${what(slo)}: the error budget of ${slo.windowDays}d is spent; ${budget}`;
    case 'WithinBudget':
      return `${what(slo)}: within budget (alerts above ${fmt(t.fast)}x over 1h and 5m, ${fmt(t.slow)}x over 6h and 30m); ${budget}`;
  }
}

type Signal = SliEvent | BadTime;
const signalOf = (slo: Slo, task: TaskObject, now: number): Signal | undefined =>
  slo.indicator === 'QueueAge' ? badTimeOf(slo, task, now) : eventOf(slo, task, now);

function sloIntents(
  snapshot: NamespaceSnapshot,
  slo: Slo,
  signals: readonly Signal[],
  endpoint: ProductionSloConfig['alertWebhook'],
): Intent[] {
  const policy = snapshot.policy;
  const burn =
    slo.indicator === 'QueueAge'
      ? burnOfTime(
          signals.filter((x): x is BadTime => 'from' in x),
          slo.objectivePercent,
          slo.windowDays,
          snapshot.now,
        )
      : burnOf(
          signals.filter((x): x is SliEvent => 'at' in x),
          slo.objectivePercent,
          slo.windowDays,
          snapshot.now,
        );
  const health = healthOf(burn, slo.windowDays);
  const labels = { slo: slo.name };
  const intents: Intent[] = [
    ...(Object.keys(WINDOWS) as Window[]).map((window): Intent => ({
      kind: 'metric',
      name: 'slo_burn_rate',
      help: 'Error-budget burn rate of each SLO over each window (1 spends the budget exactly over the SLO window)',
      labels: { ...labels, window },
      value: burn.windows[window].rate,
    })),
    {
      kind: 'metric',
      name: 'slo_error_budget_remaining',
      help: 'Share of the error budget left over the SLO window, from the tasks the API server holds',
      labels,
      value: burn.budgetLeft,
    },
    {
      kind: 'metric',
      name: 'slo_healthy',
      help: 'Whether each SLO is within budget (1) or burning (0), as its SLOHealthy condition says',
      labels,
      value: health === 'WithinBudget' ? 1 : 0,
    },
  ];
  if (policy === undefined) return intents;
  const type = conditionType(slo.name);
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  const condition = {
    type,
    status: health === 'WithinBudget' ? 'True' : 'False',
    reason: health,
    message: messageOf(slo, health, burn),
  } as const;
  intents.push({ kind: 'condition', target, condition });
  const previous = policy.status?.conditions?.find((c) => c.type === type);
  if (previous !== undefined && previous.reason !== health) {
    const warning = health !== 'WithinBudget';
    intents.push({
      kind: 'event',
      target,
      type: warning ? 'Warning' : 'Normal',
      reason: warning ? `SLO${health}` : 'SLORecovered',
      message: `SLO ${slo.name}: ${condition.message}`,
    });
    const hook = endpoint
      ? alertHook(
          {
            namespace: snapshot.namespace,
            policy: policy.metadata.name,
            slo,
            from: previous.reason as Health,
            to: health,
            message: condition.message,
            at: snapshot.now,
            since: Date.parse(previous.lastTransitionTime),
          },
          endpoint,
        )
      : undefined;
    if (hook) intents.push({ kind: 'hook', hook });
  }
  return intents;
}

/**
 * Service level objectives of a namespace on what the operator observes. On every tick
 * each SLO's events are read from the Tasks (indicator.ts), its burn rates computed over
 * the workbook's window pairs (burn.ts), and the verdict kept in the policy's
 * SLOHealthy-<name> condition, with an Event on breach and on recovery.
 */
const SLOS = `object.spec.plugins['production-slo'].slos`;
const guarded = (rule: string): string =>
  `!has(object.spec.plugins) || !('production-slo' in object.spec.plugins) || !has(${SLOS}) || (type(${SLOS}) == list && ${rule})`;

export const productionSlo = definePlugin({
  name: 'production-slo',
  config: productionSloConfig,
  // spec.plugins is free-form in the CRD: these refuse the commonest mistakes at `kubectl apply`;
  // the operator checks everything else with the zod schema (InvalidPluginConfig).
  admission: [
    {
      resource: 'orchestratorpolicies',
      expression: guarded(`size(${SLOS}) <= ${MAX_SLOS}`),
      message: `spec.plugins.production-slo.slos holds at most ${MAX_SLOS} SLOs (each is a condition on the policy)`,
    },
    {
      resource: 'orchestratorpolicies',
      expression: guarded(`${SLOS}.all(s, has(s.indicator) && s.indicator in [${indicators.map((i) => `'${i}'`).join(', ')}])`),
      message: `spec.plugins.production-slo.slos[].indicator must be one of ${indicators.join(', ')}`,
    },
    {
      resource: 'orchestratorpolicies',
      expression: guarded(
        `${SLOS}.all(s, has(s.objectivePercent) && (type(s.objectivePercent) == int || type(s.objectivePercent) == double) && double(s.objectivePercent) >= 50.0 && double(s.objectivePercent) <= 99.999)`,
      ),
      message: 'spec.plugins.production-slo.slos[].objectivePercent must be a number from 50 to 99.999',
    },
  ],
  lifecycle: (config) => {
    // An ended task's events do not change with time: read once per object (the host
    // types an object once per resourceVersion), not on every tick.
    const ended = new WeakMap<TaskObject, readonly (Signal | undefined)[]>();
    return {
      onTick(snapshot) {
        if (config.slos.length === 0) return [];
        const signals: Signal[][] = config.slos.map(() => []);
        for (const task of snapshot.tasks) {
          let per = ended.get(task);
          if (per === undefined) {
            per = config.slos.map((slo) => signalOf(slo, task, snapshot.now));
            const phase = task.status?.phase;
            if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Cancelled') ended.set(task, per);
          }
          per.forEach((e, i) => {
            if (e) signals[i]?.push(e);
          });
        }
        return config.slos.flatMap((slo, i) => sloIntents(snapshot, slo, signals[i] ?? [], config.alertWebhook));
      },
    };
  },
});
