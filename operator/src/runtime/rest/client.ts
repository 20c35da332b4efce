import * as http from 'node:http';
import * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { ClientMetrics } from '../../telemetry/metrics.ts';
import { systemClock, within, type Clock } from '../clock.ts';
import { ApiError } from '../errors.ts';
import { bodyText, exchange } from '../http-exchange.ts';
import type { ClusterAccess, TlsSettings } from './cluster-access.ts';
import { type AccessSource, clusterAccessOf } from './kubeconfig/client-node.ts';
import type { KubeObject, WatchEvent } from './object.ts';
import { tunnelingAgent } from './proxy-tunnel.ts';
import { resourceOfPath } from './resource.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
  /** Deadline for the whole request, body included; 0 for none. Defaults to the client's (30 s). */
  timeoutMs?: number;
  /** Which lane of the rate limiter the request waits in; default normal. */
  priority?: RequestPriority;
}

/**
 * high: what keeps the operator working at all (its leader Lease, its caches); normal:
 * work that moves objects forward; low: reports nobody waits on.
 */
export type RequestPriority = 'high' | 'normal' | 'low';

/** Client-side rate limiting: every request takes a token first. */
export interface RequestLimiter {
  acquire(signal?: AbortSignal, priority?: RequestPriority): Promise<void>;
}

export interface RestClientOptions {
  /** Names this client (and so its limiter) in agent_orchestrator_client_requests_total. */
  name?: string;
  limiter?: RequestLimiter;
  metrics?: ClientMetrics;
  clock?: Clock;
  defaultTimeoutMs?: number;
}

interface Connection {
  agent: http.Agent;
  headers: Record<string, string>;
}

interface Sent {
  response: http.IncomingMessage;
  /** Aborts with the caller's signal or the deadline: its reason is what a failed read throws. */
  signal: AbortSignal;
  clearDeadline: () => void;
}

/** A watch opened before anyone asked for it (prefetchWatch). */
interface Prefetched {
  sent: Promise<Sent>;
  abort: AbortController;
  cancelExpiry: () => void;
}

/** Which watch() a prefetched watch stands in for: the same path and query, whatever its timeout. */
function watchKey(path: string, query: Query): string {
  const fields = Object.entries(query).filter(([k, v]) => v !== undefined && k !== 'timeoutSeconds' && k !== 'watch');
  return `${path}?${JSON.stringify(fields.sort(([a], [b]) => (a < b ? -1 : 1)))}`;
}

/**
 * JSON over HTTP to the API server, authenticated by a ClusterAccess.
 *
 * Why not client-node's generated APIs: they map objects through typed models, which
 * drops fields they do not know (x-kubernetes-* keys, new API fields) and changes
 * timestamps to Dates, and each call builds a new connection pool. The runtime needs
 * the exact JSON the server sent, one keep-alive pool, and streaming watches it controls.
 * The transport is Node's own http(s) module (http-exchange.ts, ADR 0003).
 */
export class RestClient {
  /** Where the server is and how this client authenticates (docker agents reuse the CA). */
  readonly access: ClusterAccess;
  private readonly server: string;
  private readonly options: RestClientOptions;
  private readonly clock: Clock;
  private pool: { key: string; agent: http.Agent } | undefined;
  private readonly prefetched = new Map<string, Prefetched>();

  constructor(access: AccessSource, options: RestClientOptions = {}) {
    this.access = clusterAccessOf(access);
    this.server = this.access.server;
    this.options = options;
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Closes the connection pool, aborting whatever is still in flight (a watch nobody
   * stopped must not hold shutdown up). Requests after this open a new pool.
   */
  close(): Promise<void> {
    for (const p of this.prefetched.values()) {
      p.cancelExpiry();
      p.abort.abort();
    }
    this.prefetched.clear();
    this.pool?.agent.destroy();
    this.pool = undefined;
    return Promise.resolve();
  }

  get host(): string {
    return new URL(this.server).host;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.options.defaultTimeoutMs ?? 30_000;
    const { response, signal, clearDeadline } = await this.send(method, path, options, timeoutMs);
    try {
      const text = await bodyOf(response, signal);
      return (text ? JSON.parse(text) : undefined) as T;
    } finally {
      clearDeadline();
    }
  }

  /**
   * Opens a watch and yields its events until the server ends the stream or `signal`
   * aborts. Errors (network, HTTP status) are thrown to the caller, who owns retries.
   */
  async *watch<T extends KubeObject>(path: string, query: Query, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    const { response } = await (this.claimPrefetched(path, query, signal) ?? this.openWatch(path, query, signal));
    response.setEncoding('utf8');
    let buffer = '';
    try {
      for await (const chunk of response as AsyncIterable<string>) {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
      }
    } catch (err) {
      throw signal.aborted ? signal.reason : err;
    } finally {
      response.destroy();
    }
  }

  /**
   * Opens a watch now for a caller that will ask for it a little later: the first watch()
   * of the same path and query (its timeoutSeconds aside) takes it over, with its answer or
   * its error, as if it had sent it then. The operator opens its largest cache's watch-list
   * this way before its controllers' modules load, so the API server streams meanwhile.
   * Until it is claimed nothing reads the response: TCP holds the server back once the
   * socket buffers are full, so memory stays bounded. Unclaimed after `holdMs`, it is closed.
   *
   * Resolves once the server has answered (or failed), or after `waitMs` at most: module
   * loading is synchronous, and a TLS handshake started before it would wait for it to end.
   */
  async prefetchWatch(path: string, query: Query, { holdMs = 30_000, waitMs = 1000 } = {}): Promise<void> {
    const key = watchKey(path, query);
    const pending = this.prefetched.get(key);
    if (pending) return this.answered(pending.sent, waitMs);
    const abort = new AbortController();
    const sent = this.openWatch(path, query, abort.signal);
    const cancelExpiry = this.clock.setTimer(holdMs, () => {
      if (this.prefetched.get(key)?.sent !== sent) return;
      this.prefetched.delete(key);
      abort.abort(new DOMException(`prefetched watch of ${path} not claimed within ${holdMs} ms`, 'AbortError'));
    });
    this.prefetched.set(key, { sent, abort, cancelExpiry });
    return this.answered(sent, waitMs);
  }

  private async answered(sent: Promise<Sent>, waitMs: number): Promise<void> {
    await within(
      this.clock,
      waitMs,
      sent.catch(() => undefined),
    );
  }

  /**
   * Sends a watch request. The deadline covers only the wait for response headers; the
   * stream then lasts as long as the server keeps it (timeoutSeconds), watched over by the
   * informer. A cache whose watch waits behind a burst of writes would hold up every
   * decision: high lane.
   */
  private async openWatch(path: string, query: Query, signal: AbortSignal): Promise<Sent> {
    const sent = await this.send('GET', path, { query: { ...query, watch: true }, signal, priority: 'high' }, 30_000);
    sent.clearDeadline();
    return sent;
  }

  private claimPrefetched(path: string, query: Query, signal: AbortSignal): Promise<Sent> | undefined {
    const key = watchKey(path, query);
    const p = this.prefetched.get(key);
    if (p === undefined) return undefined;
    this.prefetched.delete(key);
    p.cancelExpiry();
    const abort = (): void => {
      p.abort.abort(signal.reason);
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    return p.sent;
  }

  /**
   * Sends a request; `deadlineMs` (0: none) aborts it until the caller calls
   * clearDeadline, so a caller decides whether reading the body is covered too.
   */
  private async send(method: string, path: string, options: RequestOptions, deadlineMs: number): Promise<Sent> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const verb = options.query?.watch ? 'WATCH' : method;

    const waitStart = this.clock.now();
    await this.options.limiter?.acquire(options.signal, options.priority);
    this.options.metrics?.rateLimiterDuration.observe({ verb }, (this.clock.now() - waitStart) / 1000);
    options.signal?.throwIfAborted();
    this.options.metrics?.requestsByResource.inc({ client: this.options.name ?? 'default', verb, resource: resourceOfPath(url.pathname) });

    const { agent, headers } = await this.connection();
    const deadline = new AbortController();
    const clearDeadline =
      deadlineMs > 0
        ? this.clock.setTimer(deadlineMs, () => {
            deadline.abort(new DOMException(`${method} ${path}: no answer within ${deadlineMs} ms`, 'TimeoutError'));
          })
        : () => undefined;
    const signal = AbortSignal.any([options.signal, deadline.signal].filter((s): s is AbortSignal => s !== undefined));
    const body = options.body !== undefined ? Buffer.from(JSON.stringify(options.body)) : undefined;
    const start = this.clock.now();
    let response: http.IncomingMessage;
    try {
      response = await exchange(
        url,
        {
          method,
          agent,
          signal,
          headers: {
            ...headers,
            Accept: 'application/json',
            ...(body ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': String(body.length) } : {}),
          },
        },
        body,
      );
    } catch (err) {
      clearDeadline();
      this.options.metrics?.requests.inc({ code: '<error>', method, host: url.host });
      throw signal.aborted ? signal.reason : err;
    }
    const status = response.statusCode ?? 0;
    this.options.metrics?.requests.inc({ code: String(status), method, host: url.host });
    this.options.metrics?.requestLatency.observe({ verb }, (this.clock.now() - start) / 1000);
    if (status >= 200 && status < 300) return { response, signal, clearDeadline };
    try {
      throw await apiErrorOf(response, signal, method, url.pathname);
    } finally {
      clearDeadline();
    }
  }

  /**
   * Credentials are read for every request (tokens rotate); the TLS connection pool is
   * kept and rebuilt only when the client certificate or CA changes.
   */
  private async connection(): Promise<Connection> {
    const { headers, tls } = await this.access.credentials();
    const key = JSON.stringify([tls.ca, tls.cert, tls.key, tls.rejectUnauthorized, tls.servername].map(String));
    if (this.pool?.key !== key) {
      const previous = this.pool?.agent;
      this.pool = { key, agent: this.createAgent(tls) };
      if (previous) retire(previous);
    }
    return { agent: this.pool.agent, headers };
  }

  private createAgent(tls: TlsSettings): http.Agent {
    // Keep-alive probes at 30 s, as client-go does, so idle watches survive load balancers:
    // keepAliveInitialDelay (passed on to net.connect, seen in `ss -o` on a watch's socket)
    // for sockets in use, keepAliveMsecs for pooled ones.
    const options: https.AgentOptions & { keepAliveInitialDelay: number } = {
      ...tls,
      keepAlive: true,
      keepAliveMsecs: 30_000,
      keepAliveInitialDelay: 30_000,
    };
    const secure = this.server.startsWith('https:');
    if (this.access.proxyUrl) return tunnelingAgent(this.access.proxyUrl, secure, options);
    return secure ? new https.Agent(options) : new http.Agent(options);
  }
}

/** Requests in flight on an old pool finish; its connections close as they come free. */
function retire(agent: http.Agent): void {
  agent.on('free', (socket: Duplex) => {
    socket.destroy();
  });
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

async function bodyOf(response: http.IncomingMessage, signal: AbortSignal): Promise<string> {
  try {
    return await bodyText(response);
  } catch (err) {
    throw signal.aborted ? signal.reason : err;
  }
}

async function apiErrorOf(response: http.IncomingMessage, signal: AbortSignal, method: string, path: string): Promise<ApiError> {
  const text = await bodyOf(response, signal).catch(() => '');
  let reason = response.statusMessage ?? '';
  let message = text.slice(0, 2000);
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    if (status.reason) reason = status.reason;
    if (status.message) message = status.message;
  } catch {
    // Not a metav1.Status: keep the raw text.
  }
  return new ApiError(response.statusCode ?? 0, reason, message, method, path);
}
