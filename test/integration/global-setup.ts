import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { must, run, stop } from '../support/hack-scripts.ts';

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

/**
 * Ensures a real control plane and Docker engine are up for the run: reuses running
 * ones, starts what is missing, and on teardown stops only what it started (unless
 * AO_KEEP_RUNNING=1, handy while iterating on a test).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const planeWasUp = run('control-plane.sh', ['status']).ok;
  const dockerWasUp = run('docker.sh', ['status']).ok;
  const teardown = async (): Promise<void> => {
    if (process.env.AO_KEEP_RUNNING === '1') return;
    if (!dockerWasUp) await stop('docker.sh');
    if (!planeWasUp) await stop('control-plane.sh');
  };
  try {
    const kubeconfig = must('control-plane.sh', ['start']);
    const dockerHost = must('docker.sh', ['start']);
    must('images.sh', [], { ...process.env, DOCKER_HOST: dockerHost });
    project.provide('kubeconfig', kubeconfig);
    project.provide('dockerHost', dockerHost);
    project.provide('kubectl', path.join(must('control-plane.sh', ['bin']), 'kubectl'));
    project.provide('etcdUrl', must('control-plane.sh', ['etcd-url']));
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
