import Docker from 'dockerode';

/**
 * A dockerode client for an endpoint written as unix:///path or tcp://host:port. Every
 * connection field is set explicitly: docker-modem otherwise fills gaps from DOCKER_HOST
 * and friends, and a tcp DOCKER_HOST in the environment would win over a socketPath.
 * `timeoutMs` bounds how long a request may go without a byte from the engine; docker-modem
 * then destroys it, which reads as an unreachable engine.
 */
export function dockerClientFor(endpoint: string, timeoutMs?: number): Docker {
  const timeout = timeoutMs === undefined ? {} : { timeout: timeoutMs };
  if (endpoint.startsWith('unix://')) {
    const socketPath = endpoint.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new Error(`invalid Docker endpoint ${endpoint}: expected unix:///absolute/path`);
    // An empty host makes docker-modem use the socket even when DOCKER_HOST names a host.
    return new Docker({ socketPath, host: '', protocol: 'http', ...timeout });
  }
  if (endpoint.startsWith('tcp://')) {
    let url: URL;
    try {
      url = new URL(`http://${endpoint.slice('tcp://'.length)}`);
    } catch {
      throw new Error(`invalid Docker endpoint ${endpoint}: expected tcp://host:port`);
    }
    if (url.hostname === '' || url.port === '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw new Error(`invalid Docker endpoint ${endpoint}: expected tcp://host:port`);
    }
    return new Docker({ host: url.hostname, port: Number(url.port), protocol: 'http', ...timeout });
  }
  throw new Error(`unsupported Docker endpoint ${JSON.stringify(endpoint)}: expected unix:///path/to/docker.sock or tcp://host:port`);
}
