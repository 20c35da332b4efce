import type { AgentStatus } from '../operator/src/api/agent.ts';
import { isConflict } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { Agents } from './resources.ts';

export type AgentObject = KubeObject & { status?: AgentStatus };

const TRIES = 5;

/**
 * A read-modify-write of the runner's own Agent status: reads the Agent, merge-patches
 * the status `change` computes from it under its resourceVersion, and reads again on a
 * conflict (the operator and the runner's other writers write the same status). `change`
 * returns undefined when there is nothing to write. Returns the written Agent, or
 * undefined when nothing was written; throws when the status kept conflicting.
 */
export async function updateOwnStatus(
  client: RestClient,
  namespace: string,
  agent: string,
  change: (live: AgentObject) => Record<string, unknown> | undefined,
): Promise<AgentObject | undefined> {
  const path = objectPath(Agents, namespace, agent);
  for (let tries = 0; tries < TRIES; tries++) {
    const live = await client.request<AgentObject>('GET', path);
    const status = change(live);
    if (status === undefined) return undefined;
    try {
      return await client.request<AgentObject>('PATCH', `${path}/status`, {
        contentType: 'application/merge-patch+json',
        body: { metadata: { resourceVersion: live.metadata.resourceVersion }, status },
      });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
  throw new Error(`agent ${agent}: status kept conflicting`);
}
