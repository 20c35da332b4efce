import { keyOf, type KubeObject } from '../rest/object.ts';

/** Values an object is indexed under (e.g. its capabilities, its assigned agent). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** Objects by key (`namespace/name`), with secondary indexes kept in step. */
export class Store<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly indexers: Record<string, IndexFunc<T>> = {};

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    this.addIndexers(indexers);
  }

  /** Adds indexes (already-cached objects are indexed at once); a name can be added once. */
  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers[name]) {
        if (this.indexers[name] !== fn) throw new Error(`index ${name} is already defined differently`);
        continue;
      }
      this.indexers[name] = fn;
      const index = new Map<string, Set<string>>();
      this.indexes.set(name, index);
      for (const [key, obj] of this.items) {
        for (const value of safeIndex(fn, obj)) {
          let keys = index.get(value);
          if (!keys) index.set(value, (keys = new Set()));
          keys.add(key);
        }
      }
    }
  }

  get size(): number {
    return this.items.size;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Objects whose index `name` yields `value`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`no index named ${name}; known: ${[...this.indexes.keys()].join(', ') || 'none'}`);
    return [...(index.get(value) ?? [])].flatMap((key) => this.items.get(key) ?? []);
  }

  /** Inserts or replaces; returns the previous object under that key. */
  set(obj: T): T | undefined {
    const key = keyOf(obj);
    const previous = this.items.get(key);
    if (previous) this.unindex(key, previous);
    this.items.set(key, obj);
    this.index(key, obj);
    return previous;
  }

  delete(key: string): T | undefined {
    const previous = this.items.get(key);
    if (previous) {
      this.unindex(key, previous);
      this.items.delete(key);
    }
    return previous;
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indexes.get(name);
      for (const value of safeIndex(fn, obj)) {
        let keys = index?.get(value);
        if (!keys) {
          keys = new Set();
          index?.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.indexers)) {
      const index = this.indexes.get(name);
      for (const value of safeIndex(fn, obj)) {
        const keys = index?.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index?.delete(value);
      }
    }
  }
}

// An index function that throws on an odd object must not poison the cache.
function safeIndex<T>(fn: IndexFunc<T>, obj: T): readonly string[] {
  try {
    return fn(obj);
  } catch {
    return [];
  }
}

/** Index by the value of one label. */
export const labelIndex =
  <T extends KubeObject>(label: string): IndexFunc<T> =>
  (obj) => {
    const value = obj.metadata.labels?.[label];
    return value === undefined ? [] : [value];
  };

/**
 * Shrinks an object before it is cached, like client-go's SetTransform: it gets what the
 * informer listed or watched (after forCache) and returns what the cache keeps.
 */
export type Transform<T> = (obj: T) => T;

/**
 * What the cache keeps of any object: managedFields are dropped (often half an object's
 * size, and nothing reads them), and list items get back their apiVersion and kind.
 */
export function forCache<T extends KubeObject>(obj: T, apiVersion: string, kind: string): T {
  const { managedFields: _, ...metadata } = obj.metadata;
  return { ...obj, apiVersion, kind, metadata };
}
