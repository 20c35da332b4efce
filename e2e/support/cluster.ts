import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repo } from '../../test/support/hack-scripts.ts';

export const E2E_RELEASE = { name: 'ao-e2e', namespace: 'ao-e2e-system' };
const HOST_OPERATOR_PORTS = { metrics: 18080, health: 18081 };

export interface E2eCluster {
  /** local: the local control plane, the operator on this host; kind: everything in the cluster. */
  mode: 'local' | 'kind';
  kubeconfig: string;
  dockerHost: string;
  helm: string;
  kubectl: string;
  release: { name: string; namespace: string };
  stateDir: string;
}

function env(c: E2eCluster): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: c.kubeconfig, ...(c.dockerHost ? { DOCKER_HOST: c.dockerHost } : {}) };
}

/** Runs helm against the cluster; returns stdout, or throws with helm's message. */
export function helm(c: E2eCluster, args: string[]): string {
  try {
    return execFileSync(c.helm, args, { cwd: repo, env: env(c), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`helm ${args.join(' ')}: ${stderr ?? String(err)}`, { cause: err });
  }
}

/** `helm upgrade --install` of the chart with the suite's values (e2e/values.yaml, or e2e/values-kind.yaml) plus `extra`. */
export function helmInstall(c: E2eCluster, extra: string[]): string {
  const values = path.join(repo, 'e2e', c.mode === 'kind' ? 'values-kind.yaml' : 'values.yaml');
  return helm(c, [
    'upgrade',
    '--install',
    c.release.name,
    path.join(repo, 'charts/agent-orchestrator'),
    '--namespace',
    c.release.namespace,
    '--create-namespace',
    '-f',
    values,
    ...extra,
    '--wait',
    '--timeout',
    '3m',
  ]);
}

/**
 * (Re)starts the operator on this host from the chart's Deployment (hack/host-operator.ts):
 * what a Deployment rollout does in a real cluster after `helm upgrade`. A no-op on kind,
 * where helm's rollout is the real thing.
 */
export async function restartHostOperator(c: E2eCluster): Promise<void> {
  if (c.mode === 'kind') return;
  execFileSync(
    process.execPath,
    [
      path.join(repo, 'hack/host-operator.ts'),
      'start',
      '--release',
      c.release.name,
      '--namespace',
      c.release.namespace,
      '--metrics-port',
      String(HOST_OPERATOR_PORTS.metrics),
      '--health-port',
      String(HOST_OPERATOR_PORTS.health),
      '--state-dir',
      c.stateDir,
      '--kubeconfig',
      c.kubeconfig,
    ],
    { cwd: repo, env: env(c), stdio: ['ignore', 'inherit', 'inherit'] },
  );
}

export function stopHostOperator(stateDir: string): void {
  execFileSync(process.execPath, [path.join(repo, 'hack/host-operator.ts'), 'stop', '--state-dir', stateDir], {
    cwd: repo,
    stdio: 'ignore',
  });
}
