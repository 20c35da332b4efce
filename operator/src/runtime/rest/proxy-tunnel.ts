import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';

type Created = (err: Error | null, stream: Duplex) => void;

/**
 * An agent whose connections go through an HTTP CONNECT tunnel (kubeconfig `proxy-url`),
 * as client-go's transport does for both http and https API servers: the proxy sees only
 * the target's host and port, and TLS runs end to end inside the tunnel.
 */
export function tunnelingAgent(proxyUrl: string, secure: boolean, options: https.AgentOptions): http.Agent {
  const proxy = new URL(proxyUrl);
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:') {
    throw new Error(
      `proxy-url ${proxyUrl}: only http and https proxies are supported (set the kubeconfig cluster's proxy-url to an http:// URL)`,
    );
  }
  const agent = secure ? new https.Agent(options) : new http.Agent(options);
  // The agent asks for each new connection here, and takes the callback form: a tunnel
  // is ready only once the proxy has answered the CONNECT.
  agent.createConnection = (o: http.ClientRequestArgs, done?: Created): undefined => {
    openTunnel(proxy, o, (err, socket) => {
      if (err || !socket) done?.(err ?? new Error('no tunnel'), undefined as unknown as Duplex);
      else done?.(null, secure ? tls.connect({ ...(o as tls.ConnectionOptions), socket }) : socket);
    });
    return undefined;
  };
  return agent;
}

function openTunnel(proxy: URL, target: http.ClientRequestArgs, done: (err: Error | null, socket?: Duplex) => void): void {
  const authority = `${String(target.host ?? target.hostname)}:${String(target.port)}`;
  const headers: Record<string, string> = { Host: authority };
  if (proxy.username) {
    const userinfo = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
    headers['Proxy-Authorization'] = `Basic ${Buffer.from(userinfo).toString('base64')}`;
  }
  const request = (proxy.protocol === 'https:' ? https : http).request({
    host: proxy.hostname,
    port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
    method: 'CONNECT',
    path: authority,
    headers,
    agent: false,
  });
  request.once('connect', (response, socket) => {
    if (response.statusCode === 200) {
      done(null, socket);
      return;
    }
    socket.destroy();
    done(
      new Error(`proxy ${proxy.host} refused CONNECT ${authority}: ${String(response.statusCode)} ${response.statusMessage ?? ''}`.trim()),
    );
  });
  request.once('error', (err) => {
    done(new Error(`proxy ${proxy.host}: ${err.message}`, { cause: err }));
  });
  request.end();
}
