import { agentKind } from '../../api/kinds.ts';
import { decideCircuit } from '../../core/circuit-breaker.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { resourceOfKind } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import { rfc3339 } from '../conditions.ts';
import type { Policies } from './policies.ts';

const Agents = resourceOfKind(agentKind);

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration?: number };
type Status = { stats?: { consecutiveFailures?: number; lastFailureTime?: string }; conditions?: Condition[] } & Record<string, unknown>;

/**
 * Each agent's circuit breaker (core/circuit-breaker.ts), kept in its CircuitOpen
 * condition. The condition's lastTransitionTime is when the circuit (last) opened: the
 * cooldown counts from there, so the state survives an operator restart.
 */
export class CircuitReconciler implements Reconciler {
  private readonly d: { agents: SharedInformer<KubeObject>; policies: Policies; writer: Writer; events: EventRecorder; clock: Clock; onChange: () => void };

  constructor(deps: CircuitReconciler['d']) {
    this.d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const agent = this.d.agents.get(key);
    if (!agent || agent.metadata.deletionTimestamp) return undefined;
    const status = (agent.status ?? {}) as Status;
    const previous = status.conditions?.find((c) => c.type === 'CircuitOpen');
    const { failureThreshold, cooldownMs } = this.d.policies.for(agent.metadata.namespace ?? '').circuitBreaker;
    const decision = decideCircuit({
      now: this.d.clock.now(),
      consecutiveFailures: status.stats?.consecutiveFailures ?? 0,
      failureThreshold,
      cooldownMs,
      previous: previous ? { open: previous.status === 'True', since: Date.parse(previous.lastTransitionTime) } : undefined,
      lastFailureAt: status.stats?.lastFailureTime ? Date.parse(status.stats.lastFailureTime) : undefined,
    });
    const next: Condition = { type: 'CircuitOpen', ...decision.condition, lastTransitionTime: rfc3339(decision.since) };
    const same = previous && previous.status === next.status && previous.reason === next.reason && previous.message === next.message && previous.lastTransitionTime === next.lastTransitionTime;
    if (!same) {
      await this.d.writer.updateStatus<Status>(
        Agents,
        {
          current: agent,
          status: (fresh) => {
            const conditions = [...((fresh.status?.conditions ?? [])).filter((c) => c.type !== 'CircuitOpen'), next];
            return { ...(fresh.status ?? {}), conditions };
          },
        },
        ctx.signal,
      );
      if (previous?.reason !== next.reason) {
        void this.d.events.record(agent, next.status === 'True' && next.reason !== 'HalfOpen' ? 'Warning' : 'Normal', next.reason, 'Circuit', next.message);
      }
      this.d.onChange();
    }
    return decision.requeueAfterMs !== undefined ? { requeueAfter: decision.requeueAfterMs } : undefined;
  }
}
