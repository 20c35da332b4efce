// What the run watches while it runs: each Task's phases as a watch saw them, each new
// assignment (recovery of the operator and the plane), and each Lease's holder and last
// renewal seen (recovery of an agent, a change of leader).
import { pino } from 'pino';
import { taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { TERMINAL, finalPhase } from './invariants.ts';

type TaskStatus = {
  phase?: string;
  assignment?: { attempt?: number; assignedAt?: string };
  conditions?: { type: string; status: string }[];
};

export interface LeaseSeen {
  holder: string;
  /** When this process last saw the Lease's renewTime change (performance.now()). */
  renewedAt: number;
  /** When this process first saw the current holder. */
  heldSince: number;
}

export class Observer {
  readonly tasks: Informer<KubeObject>;
  readonly leases: Informer<KubeObject>;
  /** Task name → the phases seen, consecutive repeats dropped. */
  readonly phases = new Map<string, string[]>();
  /** New assignments (task, attempt) as first seen, with the assignedAt the operator wrote. */
  readonly assignments: { at: number; assignedAtMs: number }[] = [];
  readonly terminal = new Set<string>();
  private readonly seenAttempts = new Set<string>();
  readonly leaseSeen = new Map<string, LeaseSeen>();
  private readonly stop = new AbortController();

  constructor(client: RestClient, namespace: string) {
    const logger = pino({ level: 'silent' });
    this.tasks = new Informer<KubeObject>({ client, resource: resourceOfKind(taskKind), namespace, logger });
    this.leases = new Informer<KubeObject>({ client, resource: Leases, namespace, logger });
    const onTask = (t: KubeObject): void => {
      this.seeTask(t);
    };
    this.tasks.addHandler({
      onAdd: onTask,
      onUpdate: (_o, t) => {
        onTask(t);
      },
    });
    const onLease = (l: KubeObject): void => {
      this.seeLease(l);
    };
    this.leases.addHandler({
      onAdd: onLease,
      onUpdate: (_o, l) => {
        onLease(l);
      },
    });
  }

  async start(): Promise<void> {
    void this.tasks.run(this.stop.signal);
    void this.leases.run(this.stop.signal);
    await Promise.all([this.tasks.waitForSync(this.stop.signal), this.leases.waitForSync(this.stop.signal)]);
  }

  close(): void {
    this.stop.abort();
  }

  holder(lease: string): string {
    return this.leaseSeen.get(lease)?.holder ?? '';
  }

  /** A new assignment first seen after `since` (performance.now()) and written at or after `sinceEpochMs`. */
  assignedSince(since: number, sinceEpochMs: number): number | undefined {
    // assignedAt has whole seconds: an assignment in the second of the fault counts.
    const floor = Math.floor(sinceEpochMs / 1000) * 1000;
    return this.assignments.find((a) => a.at > since && a.assignedAtMs >= floor)?.at;
  }

  private seeTask(t: KubeObject): void {
    const name = t.metadata.name ?? '';
    const s = t.status as TaskStatus | undefined;
    const phase = finalPhase(s?.phase, s?.conditions);
    if (!phase) return;
    const seen = this.phases.get(name) ?? [];
    if (seen.at(-1) !== phase) seen.push(phase);
    this.phases.set(name, seen);
    if ((TERMINAL as readonly string[]).includes(phase)) this.terminal.add(name);
    const assignment = s?.assignment;
    const attempt = assignment?.attempt;
    if (phase === 'Assigned' && attempt !== undefined && !this.seenAttempts.has(`${name}#${attempt}`)) {
      this.seenAttempts.add(`${name}#${attempt}`);
      this.assignments.push({ at: performance.now(), assignedAtMs: Date.parse(assignment?.assignedAt ?? '') || 0 });
    }
  }

  private seeLease(l: KubeObject): void {
    const name = l.metadata.name ?? '';
    const spec = l.spec as { holderIdentity?: string; renewTime?: string } | undefined;
    const holder = spec?.holderIdentity ?? '';
    const now = performance.now();
    const before = this.leaseSeen.get(name);
    // A Lease changes only when it is acquired, renewed or released: each change with a holder is a renewal.
    this.leaseSeen.set(name, {
      holder,
      renewedAt: holder !== '' ? now : (before?.renewedAt ?? 0),
      heldSince: before?.holder === holder ? before.heldSince : now,
    });
  }
}
