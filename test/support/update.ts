import { isConflict } from '../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';

/**
 * GET, change, PUT, and again on a 409, as client-go's RetryOnConflict does: the operator
 * writes an object's status while a test edits its spec, and a PUT of a copy read before
 * that write is refused.
 */
export async function updateWithRetry<T extends KubeObject>(
  client: RestClient,
  path: string,
  change: (current: T) => T,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const current = await client.request<T>('GET', path);
    try {
      return await client.request<T>('PUT', path, { body: change(current) });
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
    }
  }
}
