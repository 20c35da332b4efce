import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterAccess, Credentials } from '../cluster-access.ts';
import type { Fields } from './file.ts';

/** What RestClient takes: our ClusterAccess, or a client-node KubeConfig (tests and tools hold those). */
export type AccessSource = ClusterAccess | KubeConfig;

export function clusterAccessOf(source: AccessSource): ClusterAccess {
  return 'credentials' in source ? source : fromKubeConfig(source);
}

/** A client-node KubeConfig as a ClusterAccess: its current cluster, with credentials it computes. */
export function fromKubeConfig(kc: KubeConfig): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  return {
    server: cluster.server.replace(/\/+$/, ''),
    proxyUrl: cluster.proxyUrl,
    async credentials(): Promise<Credentials> {
      const https: RequestOptions = {};
      // Runs the exec plugin or auth provider when its credential has expired.
      await kc.applyToHTTPSOptions(https);
      const headers = Object.fromEntries(Object.entries(https.headers ?? {}).map(([k, v]) => [k, String(v)]));
      // client-node leaves username/password in `auth` for node:https to send.
      if (https.auth) headers.Authorization = `Basic ${Buffer.from(https.auth).toString('base64')}`;
      const ca = pem(https.ca);
      const cert = pem(https.cert);
      const key = pem(https.key);
      return {
        headers,
        tls: {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          ...(https.rejectUnauthorized !== undefined ? { rejectUnauthorized: https.rejectUnauthorized } : {}),
          ...(https.servername ? { servername: https.servername } : {}),
        },
      };
    },
  };
}

/**
 * A context that needs what only client-node does (exec credential plugins, auth
 * providers, basic auth, impersonation): client-node is loaded now, and only then, since
 * importing it costs about 85 MB of RSS.
 */
export async function loadWithClientNode(
  context: { name: string; fields: Fields },
  cluster: { name: string; fields: Fields },
  user: { name: string; fields: Fields } | undefined,
): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  // Only the chosen entries: client-node rejects a whole file for one bad unrelated entry.
  kc.loadFromString(
    JSON.stringify({
      clusters: [{ name: cluster.name, cluster: cluster.fields }],
      users: user ? [{ name: user.name, user: user.fields }] : [],
      contexts: [{ name: context.name, context: context.fields }],
      'current-context': context.name,
    }),
  );
  return fromKubeConfig(kc);
}

function pem(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value;
  return typeof value === 'string' ? Buffer.from(value) : undefined;
}
