// The operator as the chart deploys it, run on this host: on the local control plane the
// chart's Deployment lands on a kwok node, where nothing runs. This reads that
// Deployment (its args, env and ServiceAccount), asks the TokenRequest API for a token of
// that ServiceAccount, and runs the compiled operator with the same flags under that
// identity, so the chart's RBAC and values are what is exercised. Only the listen
// addresses change: probes and metrics bind to 127.0.0.1.
//
//   node hack/host-operator.ts start [--release R --namespace N --metrics-port 8080 --health-port 8081 --state-dir D]
//   node hack/host-operator.ts stop [--state-dir D]
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';

const repo = path.resolve(import.meta.dirname, '..');
const OPERATOR_ENTRY = path.join(repo, 'dist/operator/src/main.js');

interface Container {
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
}
type Deployment = KubeObject & { spec: { template: { spec: { serviceAccountName?: string; containers: Container[] } } } };

interface HostOperator {
  args: string[];
  env: Record<string, string>;
  kubeconfig: string;
  serviceAccount: string;
}

/** The chart's operator Deployment turned into a host command line and identity. */
async function hostOperator(
  adminKubeconfig: string,
  release: { name: string; namespace: string },
  ports: { metrics: number; health: number },
  dir: string,
): Promise<HostOperator> {
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfig);
  const client = new RestClient(admin);
  try {
    const deployments = await client.request<{ items: Deployment[] }>('GET', `/apis/apps/v1/namespaces/${release.namespace}/deployments`, {
      query: { labelSelector: `app.kubernetes.io/instance=${release.name},app.kubernetes.io/name=agent-orchestrator` },
    });
    const deployment = deployments.items[0];
    if (!deployment) throw new Error(`no agent-orchestrator Deployment of release ${release.name} in namespace ${release.namespace}: is the chart installed?`);
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const serviceAccount = pod.serviceAccountName ?? 'default';
    const token = await client.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${release.namespace}/serviceaccounts/${serviceAccount}/token`,
      { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 86400 } } },
    );
    const cluster = admin.getCurrentCluster();
    if (!cluster) throw new Error(`${adminKubeconfig} has no current cluster`);
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: serviceAccount, token: token.status.token }],
      contexts: [{ name: serviceAccount, cluster: cluster.name, user: serviceAccount }],
      currentContext: serviceAccount,
    });
    mkdirSync(dir, { recursive: true });
    const kubeconfig = path.join(dir, 'operator.kubeconfig');
    writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });

    const podName = `${deployment.metadata.name ?? 'agent-orchestrator'}-host`;
    const env: Record<string, string> = {};
    for (const e of container?.env ?? []) {
      const field = e.valueFrom?.fieldRef?.fieldPath;
      if (e.value !== undefined) env[e.name] = e.value;
      else if (field === 'metadata.name') env[e.name] = podName;
      else if (field === 'metadata.namespace') env[e.name] = release.namespace;
    }
    const args = (container?.args ?? []).map((a) =>
      a.startsWith('--metrics-bind-address=') && a !== '--metrics-bind-address=0'
        ? `--metrics-bind-address=127.0.0.1:${ports.metrics}`
        : a.startsWith('--health-probe-bind-address=')
          ? `--health-probe-bind-address=127.0.0.1:${ports.health}`
          : a,
    );
    return { args, env, kubeconfig, serviceAccount };
  } finally {
    await client.close();
  }
}

async function waitReady(url: string, pid: number, log: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
    try {
      process.kill(pid, 0);
    } catch {
      throw new Error(`the operator exited; see ${log}`);
    }
    if (Date.now() > deadline) throw new Error(`the operator was not ready within 60 s; see ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      release: { type: 'string', default: 'agent-orchestrator' },
      namespace: { type: 'string', default: 'agent-orchestrator-system' },
      'metrics-port': { type: 'string', default: '8080' },
      'health-port': { type: 'string', default: '8081' },
      kubeconfig: { type: 'string', default: process.env.KUBECONFIG ?? '' },
      'state-dir': { type: 'string', default: path.join(process.env.AO_STATE_DIR ?? '/tmp/agent-orchestrator', 'operator') },
    },
  });
  const stateDir = values['state-dir'];
  const pidFile = path.join(stateDir, 'operator.pid');
  // SIGTERM, then wait for the exit (in-flight reconciles finish, the Lease is released,
  // the ports are freed) before a new one may start; SIGKILL past the shutdown timeout.
  const stop = async (): Promise<void> => {
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    rmSync(pidFile);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    if (!alive()) return;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 40_000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    if (alive()) process.kill(pid, 'SIGKILL');
  };
  if (positionals[0] === 'stop') {
    await stop();
    return;
  }
  if (positionals[0] !== 'start') throw new Error('usage: host-operator.ts start|stop [--release R] [--namespace N]');
  if (!existsSync(OPERATOR_ENTRY)) throw new Error(`${OPERATOR_ENTRY} is missing: run npm run build`);
  await stop();
  const op = await hostOperator(values.kubeconfig, { name: values.release, namespace: values.namespace }, { metrics: Number(values['metrics-port']), health: Number(values['health-port']) }, stateDir);
  const log = path.join(stateDir, 'operator.log');
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [OPERATOR_ENTRY, ...op.args], {
    env: { PATH: process.env.PATH ?? '', KUBECONFIG: op.kubeconfig, ...(process.env.DOCKER_HOST ? { AO_DOCKER_HOST: process.env.DOCKER_HOST } : {}), ...op.env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  closeSync(out);
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  await waitReady(`http://127.0.0.1:${values['health-port']}/readyz`, child.pid ?? -1, log);
  process.stdout.write(`operator running as ServiceAccount ${values.namespace}/${op.serviceAccount} (pid ${child.pid}); log: ${log}\n`);
}

if (process.argv[1] === import.meta.filename) await main();
