import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { E2E_RELEASE } from '../../e2e/support/cluster.ts';
import { must, startLocalPlane } from '../support/hack-scripts.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of an admin kubeconfig for the real API server the tests run against. */
    kubeconfig: string;
    /** DOCKER_HOST of the engine the docker-runtime tests use (unix:// or tcp://127.0.0.1). */
    dockerHost: string;
    /** Path of the kubectl binary matching the API server. */
    kubectl: string;
    /** etcd's client URL (tests compact etcd through its HTTP gateway). */
    etcdUrl: string;
  }
}

/** The control plane, Docker engine and images for the run (see startLocalPlane). */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const plane = await startLocalPlane();
  try {
    // An e2e run interrupted on this plane leaves its cluster-wide admission policies
    // behind; they would refuse the integration operator's writes (it is not the chart's
    // ServiceAccount) and fail unrelated tests.
    execFileSync(
      plane.kubectl,
      [
        '--kubeconfig',
        plane.kubeconfig,
        'delete',
        'validatingadmissionpolicies,validatingadmissionpolicybindings',
        '-l',
        `app.kubernetes.io/instance=${E2E_RELEASE.name}`,
        '--ignore-not-found',
        '--wait=false',
      ],
      { stdio: 'ignore' },
    );
    project.provide('kubeconfig', plane.kubeconfig);
    project.provide('dockerHost', plane.dockerHost);
    project.provide('kubectl', plane.kubectl);
    project.provide('etcdUrl', must('control-plane.sh', ['etcd-url']));
  } catch (err) {
    await plane.teardown();
    throw err;
  }
  return plane.teardown;
}
