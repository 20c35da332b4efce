// The operator as the chart deploys it, run on this host: on the local control plane the
// chart's Deployment lands on a kwok node, where nothing runs. This reads that
// Deployment (its args, env and ServiceAccount), asks the TokenRequest API for a token of
// that ServiceAccount, and runs the compiled operator with the same flags under that
// identity, so the chart's RBAC and values are what is exercised. Only the listen
// addresses change: probes and metrics bind to 127.0.0.1.
//
//   node hack/host-operator.ts start [--release R --namespace N --metrics-port 8080 --health-port 8081 --state-dir D]
//   node hack/host-operator.ts stop [--state-dir D]
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { serviceAccountKubeConfig } from '../test/support/identities.ts';
import { alive, startDaemon, stopDaemon } from './daemon.ts';
import { IMAGE_NODE_FLAGS, OPERATOR_ENTRY } from './image-entrypoints.ts';

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
    if (!deployment)
      throw new Error(
        `no agent-orchestrator Deployment of release ${release.name} in namespace ${release.namespace}: is the chart installed?`,
      );
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    const serviceAccount = pod.serviceAccountName ?? 'default';
    // A day: the demo runs for a while, and a restart (host-operator.ts start) gets a new one.
    const kc = await serviceAccountKubeConfig(client, adminKubeconfig, release.namespace, serviceAccount, 86400);
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
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (!alive(pid)) throw new Error(`the operator exited; see ${log}`);
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
  if (positionals[0] === 'stop') {
    await stopDaemon(stateDir, 'operator');
    return;
  }
  if (positionals[0] !== 'start') throw new Error('usage: host-operator.ts start|stop [--release R] [--namespace N]');
  if (!existsSync(OPERATOR_ENTRY)) throw new Error(`${OPERATOR_ENTRY} is missing: run npm run build`);
  await stopDaemon(stateDir, 'operator');
  const op = await hostOperator(
    values.kubeconfig,
    { name: values.release, namespace: values.namespace },
    { metrics: Number(values['metrics-port']), health: Number(values['health-port']) },
    stateDir,
  );
  const { pid, log } = startDaemon(stateDir, 'operator', [...IMAGE_NODE_FLAGS, OPERATOR_ENTRY, ...op.args], {
    PATH: process.env.PATH ?? '',
    KUBECONFIG: op.kubeconfig,
    ...(process.env.DOCKER_HOST ? { AO_DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    ...op.env,
  });
  await waitReady(`http://127.0.0.1:${values['health-port']}/readyz`, pid, log);
  process.stdout.write(`operator running as ServiceAccount ${values.namespace}/${op.serviceAccount} (pid ${pid}); log: ${log}\n`);
}

if (process.argv[1] === import.meta.filename) await main();
