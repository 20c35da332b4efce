import Docker from 'dockerode';

/** The test images hack/images.sh makes locally (no registry is reachable). */
export const BUSYBOX_IMAGE = 'agent-orchestrator/busybox:test';
export const NODE_BASE_IMAGE = 'agent-orchestrator/node-base:24';

/** A client for a DOCKER_HOST of the form unix:///path or tcp://127.0.0.1:port. */
export function dockerFromHost(host: string): Docker {
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http' });
}

export interface ContainerOutput {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Splits the multiplexed log stream of a container without a TTY: frames of an 8-byte
 * header (stream id, 3 zero bytes, big-endian length) followed by the payload.
 */
export function demuxLogs(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const stream = buf[offset];
    const length = buf.readUInt32BE(offset + 4);
    const payload = buf.subarray(offset + 8, offset + 8 + length);
    (stream === 2 ? err : out).push(payload);
    offset += 8 + length;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Runs a container to completion, returns its exit code and output, and removes it. */
export async function runToCompletion(docker: Docker, options: Docker.ContainerCreateOptions): Promise<ContainerOutput> {
  const container = await docker.createContainer(options);
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = await container.logs({ stdout: true, stderr: true, follow: false });
    return { exitCode: StatusCode, ...demuxLogs(logs) };
  } finally {
    await container.remove({ force: true });
  }
}
