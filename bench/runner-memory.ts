// Benchmark: the idle memory (RSS) of the agent runner, the process every agent runs.
//
//   make bench SCENARIO=runner-memory
//   npm run build && node bench/runner-memory.ts [--runs 5]
//
// It starts the compiled runner (dist/runner/main.js, what the image runs) for one Agent
// in a namespace of its own, as admin, waits for "runner ready", lets it idle, reads its
// RSS, and stops it. The namespace is deleted at the end.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind } from '../operator/src/api/kinds.ts';
import { Namespaces, collectionPath, resourceOfKind } from './resources.ts';
import { Recorder } from './results.ts';
import { IMAGE_NODE_FLAGS, RUNNER_ENTRY, controlPlane, percentile } from './support.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const IDLE_MS = 3000;

/** Starts the runner, waits until it is ready and idle; its RSS in bytes. */
async function measure(kubeconfig: string, namespace: string): Promise<number> {
  const child = spawn(process.execPath, [...IMAGE_NODE_FLAGS, RUNNER_ENTRY], {
    env: {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: kubeconfig,
      AGENT_NAME: 'probe',
      AGENT_NAMESPACE: namespace,
      RUNNER_SHUTDOWN_GRACE_SECONDS: '1',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const deadline = setTimeout(() => {
        reject(new Error(`the runner was not ready within 60 s:\n${out}`));
      }, 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('"msg":"runner ready"')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      child.on('exit', (code) => {
        reject(new Error(`the runner exited (${String(code)}):\n${out}`));
      });
    });
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } finally {
    child.kill('SIGKILL');
  }
}

const recorder = new Recorder('runner-memory', 'Idle memory of the agent runner', { runs: RUNS });

await recorder.run(async (r) => {
  if (!existsSync(RUNNER_ENTRY)) throw new Error(`${RUNNER_ENTRY} is missing: run npm run build`);
  const { kubeconfig, client } = controlPlane();
  const namespace = `bench-runner-${Date.now().toString(36)}`;
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name: namespace } } });
  try {
    await client.request('POST', collectionPath(resourceOfKind(agentKind), namespace), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'probe' },
        spec: { capabilities: ['work'], runtime: { type: 'kubernetes', image: 'runner' } },
      },
    });
    const samples: number[] = [];
    for (let run = 0; run < RUNS; run++) samples.push((await measure(kubeconfig, namespace)) / 2 ** 20);
    r.line(`runner idle RSS, ${String(RUNS)} runs, node ${process.version}`);
    r.line(`  p50 ${percentile(samples, 50).toFixed(1)} MB  p99 ${percentile(samples, 99).toFixed(1)} MB`);
    r.figure('rss_p50_mb', percentile(samples, 50), 'MB', `runner idle RSS p50 of ${String(RUNS)}`);
    r.figure('rss_max_mb', Math.max(...samples), 'MB', `runner idle RSS, largest of ${String(RUNS)}`);
  } finally {
    await client.request('DELETE', `${collectionPath(Namespaces)}/${namespace}`).catch(() => undefined);
    await client.close();
  }
});
