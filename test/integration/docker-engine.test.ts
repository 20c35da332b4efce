import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { BUSYBOX_IMAGE, NODE_BASE_IMAGE, dockerFromHost, runToCompletion } from '../support/docker.ts';

describe('docker engine', () => {
  const docker = dockerFromHost(inject('dockerHost'));

  it('runs a container with no network and reads its output back', async () => {
    const marker = randomUUID();
    const result = await runToCompletion(docker, {
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', 'echo "$MARKER"; ls /sys/class/net; echo oops >&2'],
      Env: [`MARKER=${marker}`],
      HostConfig: { NetworkMode: 'none' },
    });
    expect(result).toEqual({ exitCode: 0, stdout: `${marker}\nlo\n`, stderr: 'oops\n' });
  });

  it('reports a failing command by its exit code', async () => {
    const result = await runToCompletion(docker, {
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', 'exit 7'],
      HostConfig: { NetworkMode: 'none' },
    });
    expect(result.exitCode).toBe(7);
  });

  it('runs Node 24 from the locally made base image as a non-root user', async () => {
    const result = await runToCompletion(docker, {
      Image: NODE_BASE_IMAGE,
      Cmd: ['-e', 'console.log(process.version, process.getuid())'],
      HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true },
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^v24\.\d+\.\d+ 65532\n$/);
  });
});
