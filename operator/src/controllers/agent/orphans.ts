import type { Logger } from 'pino';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import { isAborted, type Clock } from '../../runtime/clock.ts';
import { messageOf } from '../../runtime/errors.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { DockerAgents } from './docker-agents.ts';

/**
 * Removes agent containers, then workspace volumes, whose Agent no longer exists (its
 * deletion gave up on an unreachable engine, or the operator was down when it was
 * deleted). They are matched by the Agent's UID, so a new Agent with an old name is not
 * confused with it; a sleeping Agent's volume is kept, as the Agent is there.
 */
export async function sweepDockerOrphans(
  docker: DockerAgents,
  agents: SharedInformer<KubeObject>,
  clock: Clock,
  everyMs: number,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    await clock.sleep(everyMs, signal);
    if (isAborted(signal)) break;
    const live = new Set(agents.list().map((a) => a.metadata.uid));
    for (const runtime of docker.all()) {
      try {
        for (const { agent } of await runtime.list()) {
          if (live.has(agent.uid)) continue;
          logger.info({ agent: `${agent.namespace}/${agent.name}`, uid: agent.uid }, 'removing an orphaned agent container');
          await runtime.remove(agent);
        }
        for (const agent of await runtime.listWorkspaces()) {
          if (live.has(agent.uid)) continue;
          logger.info({ agent: `${agent.namespace}/${agent.name}`, uid: agent.uid }, 'removing an orphaned agent workspace volume');
          await runtime.release(agent);
        }
      } catch (err) {
        logger.warn({ err: messageOf(err) }, 'orphan sweep failed; trying again later');
      }
    }
  }
}
