/** TLS settings for connections to the API server; unset fields keep Node's defaults. */
export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** false: insecure-skip-tls-verify. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface Credentials {
  /** Sent with every request (Authorization, say). */
  headers: Record<string, string>;
  tls: TlsSettings;
}

/**
 * Where the API server is and how to authenticate to it: all that RestClient needs.
 * Our own kubeconfig loader (kubeconfig/load.ts) implements it without client-node, and
 * kubeconfig/client-node.ts adapts a client-node KubeConfig for what that loader leaves
 * to client-node (exec plugins, auth providers) and for tests and tools.
 */
export interface ClusterAccess {
  /** The API server's URL, without a trailing slash. */
  readonly server: string;
  /** An http(s) proxy to reach it through (kubeconfig proxy-url). */
  readonly proxyUrl: string | undefined;
  /**
   * Asked for on every request, so rotated tokens and renewed certificates are used as
   * soon as the implementation sees them.
   */
  credentials(): Promise<Credentials>;
}
