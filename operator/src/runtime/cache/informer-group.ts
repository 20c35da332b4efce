import type { KubeObject } from '../rest/object.ts';
import type { IndexFunc, Transform } from './store.ts';
import type { EventHandler, Informer } from './informer.ts';

/** What controllers and the manager need of a cache: one informer, or one per namespace. */
export interface SharedInformer<T extends KubeObject> {
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  addHandler(handler: EventHandler<T>): void;
  run(signal: AbortSignal): Promise<void>;
  get(key: string): T | undefined;
  list(): T[];
  byIndex(name: string, value: string): T[];
  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void;
  setTransform(transform: Transform<T>): void;
}

/** Several informers (one per watched namespace) seen as one. */
export class InformerGroup<T extends KubeObject> implements SharedInformer<T> {
  private readonly members: readonly Informer<T>[];

  constructor(members: readonly Informer<T>[]) {
    this.members = members;
  }

  hasSynced(): boolean {
    return this.members.every((m) => m.hasSynced());
  }

  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const synced = await Promise.all(this.members.map((m) => m.waitForSync(signal)));
    return synced.every(Boolean);
  }

  addHandler(handler: EventHandler<T>): void {
    for (const m of this.members) m.addHandler(handler);
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all(this.members.map((m) => m.run(signal)));
  }

  get(key: string): T | undefined {
    for (const m of this.members) {
      const found = m.get(key);
      if (found) return found;
    }
    return undefined;
  }

  list(): T[] {
    return this.members.flatMap((m) => m.list());
  }

  byIndex(name: string, value: string): T[] {
    return this.members.flatMap((m) => m.byIndex(name, value));
  }

  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    for (const m of this.members) m.addIndexers(indexers);
  }

  setTransform(transform: Transform<T>): void {
    for (const m of this.members) m.setTransform(transform);
  }
}
