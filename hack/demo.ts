// The live part of `make up`: watches the demo namespace while its agents come up and
// its tasks are routed and completed, printing what changes, then a summary and the
// commands to try next.
//
//   node hack/demo.ts --namespace demo [--timeout 240]
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject, ObjectList } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';

const { values } = parseArgs({
  options: {
    namespace: { type: 'string', default: 'demo' },
    kubeconfig: { type: 'string', default: process.env.KUBECONFIG ?? '' },
    timeout: { type: 'string', default: '240' },
  },
});
const ns = values.namespace;

type Status = {
  phase?: string;
  assignment?: { agent?: string };
  history?: { agent: string; outcome: string }[];
  result?: { output?: string };
  pools?: { name: string; current: number; desired: number; reason?: string }[];
};
const statusOf = (o: KubeObject): Status => o.status ?? {};
const TERMINAL = new Set(['Succeeded', 'Failed', 'Cancelled']);
const clock = (start: number): string => `+${((Date.now() - start) / 1000).toFixed(0).padStart(3)}s`;

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(values.kubeconfig);
  const client = new RestClient(kc);
  const list = async (kind: typeof agentKind): Promise<KubeObject[]> =>
    (await client.request<ObjectList>('GET', collectionPath(resourceOfKind(kind), ns))).items;
  const start = Date.now();
  const deadline = start + Number(values.timeout) * 1000;
  const seen = new Map<string, string>();
  let tasks: KubeObject[];
  let agents: KubeObject[];
  try {
    process.stdout.write(`\nWatching namespace ${ns}: agents starting, tasks routed and completed\n\n`);
    for (;;) {
      [agents, tasks] = await Promise.all([list(agentKind), list(taskKind)]);
      for (const a of agents) {
        const line = `agent ${a.metadata.name ?? ''}: ${statusOf(a).phase ?? 'Pending'}`;
        if (seen.get(`a/${a.metadata.name ?? ''}`) !== line) process.stdout.write(`${clock(start)}  ${line}\n`);
        seen.set(`a/${a.metadata.name ?? ''}`, line);
      }
      for (const t of tasks) {
        const s = statusOf(t);
        const line = `task ${t.metadata.name ?? ''}: ${s.phase ?? 'Pending'}${s.assignment?.agent ? ` on ${s.assignment.agent}` : ''}${s.phase === 'Succeeded' ? ` by ${s.history?.at(-1)?.agent ?? '?'}` : ''}`;
        if (seen.get(`t/${t.metadata.name ?? ''}`) !== line) process.stdout.write(`${clock(start)}  ${line}\n`);
        seen.set(`t/${t.metadata.name ?? ''}`, line);
      }
      // Done when every task that some agent can run has ended (a gpu task may wait for a gpu).
      const open = tasks.filter((t) => !TERMINAL.has(statusOf(t).phase ?? ''));
      if (tasks.length > 0 && open.every((t) => (t.spec as { requiredCapabilities?: string[] }).requiredCapabilities?.includes('gpu')))
        break;
      if (Date.now() > deadline) {
        process.stdout.write(`\n(stopped watching after ${values.timeout}s; ${open.length} task(s) still open)\n`);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const policies = await list(policyKind);
    const done = tasks.filter((t) => statusOf(t).phase === 'Succeeded');
    process.stdout.write(`\n=== Demo summary (${clock(start).trim()}) ===\n`);
    process.stdout.write(`${agents.length} agents: ${summarize(agents.map((a) => statusOf(a).phase ?? 'Pending'))}\n`);
    process.stdout.write(`${tasks.length} tasks: ${summarize(tasks.map((t) => statusOf(t).phase ?? 'Pending'))}\n`);
    for (const t of done) {
      const output = (statusOf(t).result?.output ?? '').trim().split('\n')[0] ?? '';
      process.stdout.write(
        `  ${(t.metadata.name ?? '').padEnd(20)} by ${(statusOf(t).history?.at(-1)?.agent ?? '?').padEnd(22)} ${output.slice(0, 70)}\n`,
      );
    }
    for (const p of policies) {
      for (const pool of statusOf(p).pools ?? [])
        process.stdout.write(`pool ${pool.name}: ${pool.current}/${pool.desired} agents: ${pool.reason ?? ''}\n`);
    }
  } finally {
    await client.close();
  }
}

function summarize(phases: string[]): string {
  const counts = new Map<string, number>();
  for (const p of phases) counts.set(p, (counts.get(p) ?? 0) + 1);
  return [...counts].map(([p, n]) => `${n} ${p}`).join(', ') || 'none';
}

await main();
