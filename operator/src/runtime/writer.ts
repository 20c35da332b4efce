import { isDeepStrictEqual } from 'node:util';
import { isConflict } from './errors.ts';
import type { RequestPriority, RestClient } from './rest/client.ts';
import type { KubeObject } from './rest/object.ts';
import { apiVersionOf, objectPath, type ResourceType } from './rest/resource.ts';

/** The one field manager the operator writes with, so server-side apply tracks its fields. */
export const FIELD_MANAGER = 'agent-orchestrator';

export interface StatusUpdate<S> {
  /** The object as the caller last saw it (from the cache). */
  current: KubeObject & { status?: S };
  /** The desired status given an object; return undefined to leave it as is. */
  status: (obj: KubeObject & { status?: S }) => S | undefined;
  /** The rate limiter lane of the write (and of the read after a conflict); default normal. */
  priority?: RequestPriority;
}

/**
 * Writes objects the operator owns or reports on: status through the status subresource
 * (optimistic, retried on conflict against a fresh read, skipped when nothing changed)
 * and owned objects with server-side apply.
 */
export class Writer {
  private readonly client: RestClient;
  private readonly maxConflicts: number;

  constructor(client: RestClient, options: { maxConflicts?: number } = {}) {
    this.client = client;
    this.maxConflicts = options.maxConflicts ?? 5;
  }

  /**
   * Sets the status computed by `update.status`. Returns the object as written, or
   * undefined when the status was already as desired (no request is made then).
   */
  async updateStatus<S>(rt: ResourceType, update: StatusUpdate<S>, signal?: AbortSignal): Promise<KubeObject | undefined> {
    let obj = update.current;
    for (let attempt = 0; ; attempt++) {
      const status = update.status(obj);
      if (status === undefined || isDeepStrictEqual(status, obj.status)) return undefined;
      const { namespace, name = '' } = obj.metadata;
      const path = objectPath(rt, namespace, name, 'status');
      try {
        return await this.client.request<KubeObject>('PUT', path, {
          body: { ...obj, apiVersion: apiVersionOf(rt), kind: rt.kind, status },
          query: { fieldManager: FIELD_MANAGER },
          ...(signal ? { signal } : {}),
          ...(update.priority ? { priority: update.priority } : {}),
        });
      } catch (err) {
        if (!isConflict(err) || attempt + 1 >= this.maxConflicts) throw err;
        obj = await this.client.request<KubeObject & { status?: S }>('GET', objectPath(rt, namespace, name), {
          ...(signal ? { signal } : {}),
          ...(update.priority ? { priority: update.priority } : {}),
        });
      }
    }
  }

  /**
   * Server-side apply: the server merges `obj` into what exists, owning the fields it
   * names for FIELD_MANAGER. Applying the same object twice changes nothing.
   */
  async apply(rt: ResourceType, obj: KubeObject, signal?: AbortSignal): Promise<KubeObject> {
    const { namespace, name = '' } = obj.metadata;
    return this.client.request<KubeObject>('PATCH', objectPath(rt, namespace, name), {
      body: { ...obj, apiVersion: apiVersionOf(rt), kind: rt.kind },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: true },
      ...(signal ? { signal } : {}),
    });
  }
}
