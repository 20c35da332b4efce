import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { OPERATOR_ENTRY } from '../hack/image-entrypoints.ts';
import { must, repo, startLocalPlane } from '../test/support/hack-scripts.ts';
import { E2E_RELEASE, helmInstall, restartHostOperator, stopHostOperator, type E2eCluster } from './support/cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    e2e: E2eCluster;
  }
}

/**
 * The installed product: on the local control plane (the default) the chart is installed
 * with helm and the operator runs on this host from the chart's Deployment, under its
 * ServiceAccount (hack/host-operator.ts). With AO_E2E_CLUSTER=kind, the cluster of the
 * current KUBECONFIG is used as it is: hack/kind-up.sh has installed the chart, and the
 * operator and the agents run in real Pods.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = process.env.AO_E2E_CLUSTER === 'kind' ? 'kind' : 'local';
  const stateDir = path.join(process.env.AO_STATE_DIR ?? '/tmp/agent-orchestrator', 'e2e');
  mkdirSync(stateDir, { recursive: true });
  if (mode === 'kind') {
    const kubeconfig = process.env.KUBECONFIG ?? '';
    if (!kubeconfig) throw new Error('AO_E2E_CLUSTER=kind needs KUBECONFIG (hack/kind-up.sh prints it)');
    const cluster: E2eCluster = { mode, kubeconfig, dockerHost: '', helm: 'helm', kubectl: 'kubectl', release: E2E_RELEASE, stateDir };
    project.provide('e2e', cluster);
    project.provide('kubeconfig', kubeconfig);
    project.provide('dockerHost', '');
    project.provide('kubectl', 'kubectl');
    return async () => undefined;
  }

  const plane = await startLocalPlane();
  const teardown = async (): Promise<void> => {
    stopHostOperator(stateDir);
    await plane.teardown();
  };
  try {
    if (!existsSync(OPERATOR_ENTRY)) execFileSync('npm', ['run', 'build'], { cwd: repo, stdio: 'inherit' });
    const { kubeconfig, dockerHost } = plane;
    const cluster: E2eCluster = {
      mode,
      kubeconfig,
      dockerHost,
      helm: must('control-plane.sh', ['helm']),
      kubectl: plane.kubectl,
      release: E2E_RELEASE,
      stateDir,
    };
    // Pod Security "restricted" is enforced where the operator and its agents run.
    const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: cluster.release.namespace } });
    execFileSync(cluster.kubectl, ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], {
      input: manifest,
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    execFileSync(cluster.kubectl, [
      '--kubeconfig',
      kubeconfig,
      'label',
      '--overwrite',
      'namespace',
      cluster.release.namespace,
      'pod-security.kubernetes.io/enforce=restricted',
    ]);
    helmInstall(cluster, []);
    await restartHostOperator(cluster);
    project.provide('e2e', cluster);
    project.provide('kubeconfig', kubeconfig);
    project.provide('dockerHost', dockerHost);
    project.provide('kubectl', cluster.kubectl);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
