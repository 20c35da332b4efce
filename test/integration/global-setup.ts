import type { TestProject } from 'vitest/node';
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
