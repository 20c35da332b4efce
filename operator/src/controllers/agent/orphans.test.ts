import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../test/support/fake-clock.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { DockerRuntime } from '../../runtimes/docker/docker-runtime.ts';
import type { AgentRef } from '../../runtimes/runtime.ts';
import type { DockerAgents } from './docker-agents.ts';
import { sweepDockerOrphans } from './orphans.ts';

const ref = (name: string): AgentRef => ({ namespace: 'ns', name, uid: `uid-${name}` });

/** An engine holding the containers and workspace volumes of these Agents; records what is removed. */
function engine(containers: AgentRef[], volumes: AgentRef[]): { runtime: DockerRuntime; removed: string[]; released: string[] } {
  const removed: string[] = [];
  const released: string[] = [];
  const runtime = {
    list: () =>
      Promise.resolve(
        containers.map((agent) => ({ agent, status: { kind: 'Container', name: agent.name, phase: 'Running', restarts: 0 } })),
      ),
    listWorkspaces: () => Promise.resolve(volumes),
    remove: (agent: AgentRef) => {
      removed.push(agent.name);
      return Promise.resolve();
    },
    release: (agent: AgentRef) => {
      released.push(agent.name);
      return Promise.resolve();
    },
  } as unknown as DockerRuntime;
  return { runtime, removed, released };
}

describe('sweepDockerOrphans', () => {
  it('removes the containers and workspace volumes of Agents that are gone, and keeps a sleeping Agent’s volume', async () => {
    const clock = new FakeClock();
    // `sleeper` has a volume and no container (asleep); `gone` and `old` are deleted Agents.
    const { runtime, removed, released } = engine([ref('live'), ref('gone')], [ref('live'), ref('sleeper'), ref('old')]);
    const docker = { all: () => [runtime] } as unknown as DockerAgents;
    const agents = {
      list: () => ['live', 'sleeper'].map((n) => ({ metadata: { name: n, uid: `uid-${n}` } })),
    } as unknown as SharedInformer<KubeObject>;
    const stop = new AbortController();
    const sweeping = sweepDockerOrphans(docker, agents, clock, 1000, pino({ level: 'silent' }), stop.signal);
    await clock.advance(1000);
    stop.abort();
    await sweeping;
    expect(removed).toEqual(['gone']);
    expect(released).toEqual(['old']);
  });
});
