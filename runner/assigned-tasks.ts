import type { Logger } from 'pino';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import { Informer, type EventHandler } from '../operator/src/runtime/cache/informer.ts';
import { messageOf } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Roles } from '../operator/src/runtime/rest/resource.ts';
import { agentIdentity, grantsOf } from '../operator/src/runtimes/kubernetes/agent-role.ts';
import { Tasks } from './resources.ts';

const QUICK_RETRY = { initialMs: 20, maxMs: 5_000 };

export interface AssignedTasksOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  resyncMs?: number;
  logger: Logger;
}

interface Watched {
  informer: Informer<KubeObject>;
  stop: AbortController;
}

/**
 * The Tasks assigned to this agent, as one cache. The agent may not list Tasks, only read
 * those its own Role names (ADR 0016), so it watches its Role and each Task the Role names
 * on its own (RBAC authorizes a list or watch by metadata.name against resourceNames).
 */
export class AssignedTasks implements SharedInformer<KubeObject> {
  private readonly o: AssignedTasksOptions;
  private readonly role: Informer<KubeObject>;
  private readonly tasks = new Map<string, Watched>();
  private readonly runs = new Set<Promise<void>>();
  private readonly handlers: EventHandler<KubeObject>[] = [];
  private readonly log: Logger;
  private signal: AbortSignal | undefined;

  constructor(options: AssignedTasksOptions) {
    this.o = options;
    this.log = options.logger.child({ cache: 'assigned-tasks' });
    // No Role yet lists as empty, so the cache syncs with no Tasks until the operator writes it.
    // Refused until the Role that grants reading it exists, briefly after the Agent is made:
    // retried within seconds, not after the default backoff's 30.
    this.role = new Informer({
      client: options.client,
      resource: Roles,
      namespace: options.namespace,
      fieldSelector: `metadata.name=${agentIdentity(options.agent)}`,
      backoff: QUICK_RETRY,
      logger: this.log,
    });
    const follow = (): void => {
      this.follow();
    };
    this.role.addHandler({ onAdd: follow, onUpdate: follow, onDelete: follow });
  }

  hasSynced(): boolean {
    return this.role.hasSynced() && [...this.tasks.values()].every((t) => t.informer.hasSynced());
  }

  /** The Role, then every Task it names by then; again if the Role named others meanwhile. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    while (!signal?.aborted) {
      if (!(await this.role.waitForSync(signal))) return false;
      // A Task dropped from the Role meanwhile would never sync: its own stop ends the wait too.
      const waits = [...this.tasks.values()].map((t) =>
        t.informer.waitForSync(signal ? AbortSignal.any([signal, t.stop.signal]) : t.stop.signal),
      );
      await Promise.all(waits);
      if (this.hasSynced()) return true;
    }
    return false;
  }

  /** Like an Informer's: handlers added late get the cached Tasks as initial adds. */
  addHandler(handler: EventHandler<KubeObject>): void {
    this.handlers.push(handler);
    for (const { informer } of this.tasks.values()) {
      if (informer.hasSynced()) for (const obj of informer.list()) this.call(handler, (h) => h.onAdd?.(obj, true));
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    await this.role.run(signal);
    // The per-Task runs end with `signal`: their objects are not reported deleted, the process stops.
    await Promise.all([...this.runs]);
  }

  get(key: string): KubeObject | undefined {
    for (const { informer } of this.tasks.values()) {
      const found = informer.get(key);
      if (found) return found;
    }
    return undefined;
  }

  list(): KubeObject[] {
    return [...this.tasks.values()].flatMap((t) => t.informer.list());
  }

  byIndex(): KubeObject[] {
    throw new Error('AssignedTasks has no indexes');
  }

  addIndexers(): void {
    throw new Error('AssignedTasks has no indexes');
  }

  setTransform(): void {
    throw new Error('AssignedTasks takes no transform');
  }

  private follow(): void {
    const signal = this.signal;
    if (!signal || signal.aborted) return;
    const wanted = new Set(grantsOf(this.role.list()[0]).write);
    for (const name of [...this.tasks.keys()]) if (!wanted.has(name)) this.drop(name);
    for (const name of wanted) if (!this.tasks.has(name)) this.watch(name, signal);
  }

  private watch(name: string, signal: AbortSignal): void {
    const { client, namespace, resyncMs } = this.o;
    // The Role may name a Task a moment before RBAC's cache lets it be read: a task start
    // waits that moment plus a short retry, not the default backoff's second.
    const informer = new Informer<KubeObject>({
      client,
      resource: Tasks,
      namespace,
      fieldSelector: `metadata.name=${name}`,
      backoff: QUICK_RETRY,
      logger: this.log.child({ task: name }),
      ...(resyncMs ? { resyncMs } : {}),
    });
    const watched = { informer, stop: new AbortController() };
    // A dropped informer may still deliver an event it had in hand: only the current one speaks.
    const forward = (event: (h: EventHandler<KubeObject>) => void): void => {
      if (this.tasks.get(name) === watched) this.emit(event);
    };
    informer.addHandler({
      onAdd: (obj, initial) => {
        forward((h) => h.onAdd?.(obj, initial));
      },
      onUpdate: (oldObj, newObj) => {
        forward((h) => h.onUpdate?.(oldObj, newObj));
      },
      onDelete: (obj) => {
        forward((h) => h.onDelete?.(obj));
      },
      onResync: (obj) => {
        forward((h) => h.onResync?.(obj));
      },
    });
    this.tasks.set(name, watched);
    const running: Promise<void> = informer.run(AbortSignal.any([signal, watched.stop.signal])).finally(() => this.runs.delete(running));
    this.runs.add(running);
  }

  /** Losing the grant does not end an open watch: the Task is gone for this agent now. */
  private drop(name: string): void {
    const watched = this.tasks.get(name);
    if (!watched) return;
    this.tasks.delete(name);
    watched.stop.abort();
    for (const obj of watched.informer.list()) this.emit((h) => h.onDelete?.(obj));
  }

  private emit(event: (h: EventHandler<KubeObject>) => void): void {
    for (const handler of this.handlers) this.call(handler, event);
  }

  private call(handler: EventHandler<KubeObject>, event: (h: EventHandler<KubeObject>) => void): void {
    try {
      event(handler);
    } catch (err) {
      this.log.error({ err: messageOf(err) }, 'event handler threw; the cache goes on');
    }
  }
}
