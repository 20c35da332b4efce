// kubeconfig proxy-url: the client reaches the real API server through an HTTP CONNECT
// proxy on loopback, TLS end to end inside the tunnel.
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import type { ClusterAccess } from '../../../operator/src/runtime/rest/cluster-access.ts';
import { fromKubeConfig } from '../../../operator/src/runtime/rest/kubeconfig/client-node.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, collectionPath } from '../../../operator/src/runtime/rest/resource.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';

interface Proxy {
  url: string;
  /** CONNECT targets it was asked for, with the Proxy-Authorization each carried. */
  connects: { authority: string; auth: string | undefined }[];
}

const proxies: http.Server[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) {
    p.closeAllConnections();
    await new Promise((resolve) => p.close(resolve));
  }
});

/** A CONNECT proxy; with `credentials`, it answers 407 to a request without them. */
async function startProxy(credentials?: string): Promise<Proxy> {
  const connects: Proxy['connects'] = [];
  const server = http.createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
    const authority = req.url ?? '';
    const auth = req.headers['proxy-authorization'];
    connects.push({ authority, auth });
    if (credentials && auth !== `Basic ${Buffer.from(credentials).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    const [host, port] = [authority.slice(0, authority.lastIndexOf(':')), Number(authority.slice(authority.lastIndexOf(':') + 1))];
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client).pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  proxies.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`, connects };
}

function throughProxy(proxyUrl: string): { client: RestClient; authority: string } {
  const direct = fromKubeConfig(adminKubeConfig());
  const access: ClusterAccess = { server: direct.server, proxyUrl, credentials: () => direct.credentials() };
  return { client: new RestClient(access), authority: new URL(direct.server).host };
}

describe('RestClient through a kubeconfig proxy-url', () => {
  const ns = useNamespace('proxy-');

  it('lists and watches through a CONNECT tunnel, TLS to the API server inside it', async () => {
    const proxy = await startProxy();
    const { client, authority } = throughProxy(proxy.url);
    try {
      const path = collectionPath(ConfigMaps, ns.name);
      const list = await client.request<{ metadata: { resourceVersion: string } }>('GET', path);
      const stop = new AbortController();
      const seen: string[] = [];
      const watching = (async () => {
        for await (const event of client.watch<KubeObject>(path, { resourceVersion: list.metadata.resourceVersion }, stop.signal)) {
          seen.push(`${event.type} ${event.object.metadata.name ?? ''}`);
          // Leaving the loop ends the watch. (Aborting here rejected `watching` before the
          // POST below had its answer, and so before anything awaited it: CI saw an
          // unhandled rejection.)
          if (event.object.metadata.name === 'through-proxy') break;
        }
      })();
      await client.request('POST', path, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'through-proxy' } } });
      await watching;
      expect(seen).toContain('ADDED through-proxy');
      expect(proxy.connects.length).toBeGreaterThan(0);
      expect(proxy.connects.every((c) => c.authority === authority)).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('sends the proxy-url credentials, and names the proxy and its answer when it refuses', async () => {
    const proxy = await startProxy('ops:s3cret');
    const withCredentials = throughProxy(proxy.url.replace('http://', 'http://ops:s3cret@'));
    const without = throughProxy(proxy.url);
    try {
      await withCredentials.client.request('GET', collectionPath(ConfigMaps, ns.name));
      const err: unknown = await without.client.request('GET', collectionPath(ConfigMaps, ns.name)).catch((e: unknown) => e);
      expect(String(err)).toContain(`proxy ${new URL(proxy.url).host} refused CONNECT ${withCredentials.authority}: 407`);
      expect(proxy.connects.map((c) => c.auth)).toEqual([`Basic ${Buffer.from('ops:s3cret').toString('base64')}`, undefined]);
    } finally {
      await withCredentials.client.close();
      await without.client.close();
    }
  });
});
