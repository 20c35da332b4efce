// Each fault: how it is injected and what "recovered" means for it. Plane faults (the
// operator, its leader, kube-apiserver, etcd) recover when work is assigned again; agent
// faults when the agent's Lease is renewed by a runner that serves it again (a new runner
// process after a kill or a delete; the same one after a freeze or a cut ends).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { agentKind } from '../operator/src/api/kinds.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { sleep } from '../bench/load.ts';
import type { FaultRecord } from './invariants.ts';
import type { Observer } from './observe.ts';
import { LEADER_LEASE, type Operators } from './operators.ts';
import type { ProcessAgents } from './process-agents.ts';
import type { PlannedFault } from './schedule.ts';

const repo = path.resolve(import.meta.dirname, '..');
const RECOVERY_DEADLINE_MS = 180_000;
const Agents = resourceOfKind(agentKind);

export interface FaultContext {
  admin: RestClient;
  namespace: string;
  docker: Docker;
  operators: Operators;
  observer: Observer;
  processAgents: ProcessAgents;
  /** Agents by how their runner runs. */
  pools: { simulated: string[]; process: string[]; docker: string[] };
  log: (line: string) => void;
}

export async function hackScript(script: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(path.join(repo, 'hack', script), args, { cwd: repo, maxBuffer: 16 << 20 });
  return stdout.trim();
}

/** Polls until `probe` gives a time (performance.now()), or undefined past the deadline. */
async function recoveredAt(probe: () => number | undefined, deadlineMs = RECOVERY_DEADLINE_MS): Promise<number | undefined> {
  const deadline = performance.now() + deadlineMs;
  for (;;) {
    const at = probe();
    if (at !== undefined) return at;
    if (performance.now() > deadline) return undefined;
    await sleep(50);
  }
}

const leaseOf = (agent: string): string => `agent-${agent}`;

/** The agents' Lease held by a runner other than the ones that held it before (and renewed since `after`). */
function newHolders(o: Observer, agents: readonly string[], before: ReadonlyMap<string, string>, after: number): () => number | undefined {
  return (): number | undefined => {
    let last = 0;
    for (const a of agents) {
      const seen = o.leaseSeen.get(leaseOf(a));
      if (!seen || seen.holder === '' || seen.holder === before.get(a) || seen.renewedAt <= after) return undefined;
      last = Math.max(last, seen.heldSince);
    }
    return last;
  };
}

function pick<T>(pool: readonly T[], index: number): T {
  const item = pool[index % pool.length];
  if (item === undefined) throw new Error('the pool for this fault is empty');
  return item;
}

export type InjectedFault = FaultRecord & { target: string; detail: string };

/** Injects one fault and waits for its recovery; the record says what happened. */
export async function inject(f: PlannedFault, c: FaultContext): Promise<InjectedFault> {
  const t0 = performance.now();
  const epoch0 = Date.now();
  const o = c.observer;
  const record = (recovered: number | undefined, from: number, target: string, detail: string): InjectedFault => ({
    kind: f.kind,
    at: epoch0,
    recoveredMs: recovered === undefined ? undefined : Math.round(Math.max(0, recovered - from)),
    target,
    detail,
  });

  switch (f.kind) {
    case 'operator-kill': {
      // Every replica at once: no standby to take over, the operator is down.
      await Promise.all(c.operators.identities().map((id) => c.operators.kill(id)));
      await sleep(f.outageS * 1000);
      const restarted = performance.now();
      await Promise.all(c.operators.identities().map((id) => c.operators.start(id)));
      // Nothing assigns while both are down: an assignment seen before the restart was made before the kill.
      return record(await recoveredAt(() => o.assignedSince(restarted, epoch0)), t0, 'both replicas', `down ${f.outageS} s`);
    }
    case 'leader-kill': {
      const leader = o.holder(LEADER_LEASE);
      await c.operators.kill(leader);
      const took = await recoveredAt(() => {
        const h = o.leaseSeen.get(LEADER_LEASE);
        return h && h.holder !== '' && h.holder !== leader ? h.heldSince : undefined;
      });
      const resumed = took === undefined ? undefined : await recoveredAt(() => o.assignedSince(took, epoch0));
      await c.operators.start(leader);
      return record(
        took,
        t0,
        leader,
        `Lease taken by ${o.holder(LEADER_LEASE)}; assigning again after ${resumed === undefined ? '-' : ((resumed - t0) / 1000).toFixed(1)} s`,
      );
    }
    case 'apiserver-restart':
    case 'etcd-restart': {
      const component = f.kind === 'etcd-restart' ? 'etcd' : 'kube-apiserver';
      await hackScript('control-plane.sh', 'restart', component);
      const back = performance.now();
      // Seen after the component is back: a watch may still deliver what was written before the kill.
      const recovered = await recoveredAt(() => o.assignedSince(back, epoch0));
      return record(recovered, t0, component, `ready again after ${((back - t0) / 1000).toFixed(1)} s`);
    }
    case 'dockerd-restart': {
      const before = new Map(c.pools.docker.map((a) => [a, o.holder(leaseOf(a))]));
      await hackScript('docker.sh', 'restart');
      const back = performance.now();
      const recovered = await recoveredAt(newHolders(o, c.pools.docker, before, t0));
      return record(recovered, t0, 'dockerd', `engine back after ${((back - t0) / 1000).toFixed(1)} s`);
    }
    case 'container-kill': {
      const agent = pick(c.pools.docker, f.target);
      const a = await c.admin.request<KubeObject & { status?: { workload?: { id?: string } } }>(
        'GET',
        objectPath(Agents, c.namespace, agent),
      );
      const id = a.status?.workload?.id;
      if (!id) return record(undefined, t0, agent, 'no container to kill');
      const before = new Map([[agent, o.holder(leaseOf(agent))]]);
      await c.docker.getContainer(id).kill();
      return record(await recoveredAt(newHolders(o, [agent], before, t0)), t0, agent, `container ${id.slice(0, 12)}`);
    }
    case 'pod-delete': {
      const agent = pick(c.pools.simulated, f.target);
      const before = new Map([[agent, o.holder(leaseOf(agent))]]);
      await c.admin.request('DELETE', objectPath(Pods, c.namespace, `agent-${agent}`));
      return record(await recoveredAt(newHolders(o, [agent], before, t0)), t0, agent, `Pod agent-${agent}`);
    }
    case 'runner-freeze':
    case 'network-loss': {
      const agent = pick(c.pools.process, f.target);
      const runner = c.processAgents.current(agent);
      if (f.kind === 'runner-freeze') {
        if (!runner) return record(undefined, t0, agent, 'no runner process to freeze');
        runner.kill('SIGSTOP');
        await sleep(f.outageS * 1000);
        runner.kill('SIGCONT');
      } else {
        const proxy = c.processAgents.proxy(agent);
        proxy.hang();
        await sleep(f.outageS * 1000);
        await proxy.open();
      }
      // Recovery counts from the end of the outage: the agent serves again once its Lease is renewed.
      const end = performance.now();
      const recovered = await recoveredAt(() => {
        const seen = o.leaseSeen.get(leaseOf(agent));
        return seen && seen.holder !== '' && seen.renewedAt > end ? seen.renewedAt : undefined;
      });
      return record(recovered, end, agent, `${f.kind === 'runner-freeze' ? 'SIGSTOP' : 'API connection hung'} for ${f.outageS} s`);
    }
  }
}
