import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Agent } from '../api/agent.ts';
import { agentKind } from '../api/kinds.ts';
import { AuditBodyError, auditRefusals } from '../core/audit-refusals.ts';
import { RefusalBatch, withRefusals } from '../core/refusal-log.ts';
import type { Clock } from './clock.ts';
import { isConflict, isNotFound, messageOf } from './errors.ts';
import { parseBindAddress } from './http-server.ts';
import type { RestClient } from './rest/client.ts';
import type { KubeObject } from './rest/object.ts';
import { objectPath, resourceOfKind } from './rest/resource.ts';

const Agents = resourceOfKind(agentKind);
/** The API server sends at most --audit-webhook-batch-max-size events (400) a POST: a few MB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** Audit ids remembered, to drop a batch the backend sends again after a failed POST. */
const REMEMBERED_IDS = 100_000;
const WRITE_TRIES = 5;

export interface AuditWebhookOptions {
  /** host:port; "0" serves nothing. */
  bind: string;
  /** The bearer token the audit webhook kubeconfig sends; undefined: no check. */
  token?: string | undefined;
  /** Serving certificate and key (PEM): HTTPS, which the API server needs to send a token at all. */
  tls?: { readonly cert: string; readonly key: string } | undefined;
  /** Agents are written with this client (the operator's own identity). */
  client: RestClient;
  /** Namespaces the operator watches; empty: every one. Refusals elsewhere are not its to file. */
  namespaces: readonly string[];
  /** How often what came in is written to the Agents (one write per agent at most). */
  flushMs?: number;
  clock: Clock;
  logger: Logger;
}

type AgentObject = KubeObject & { status?: Agent['status'] };

/**
 * Takes the API server's audit webhook batches on POST /audit and files each refusal (403)
 * of an agent identity in its Agent's status.refusals.audited, where the threat-detection
 * plugin counts it. Refusals are gathered per agent and written once per flush interval,
 * so a storm costs one write per agent a second. The status is the only store: a refusal
 * taken but not yet written when the operator stops is lost (evidence, not state: nothing
 * wrong is decided from its absence), and one already written is never counted again.
 */
export class AuditWebhook {
  private readonly o: AuditWebhookOptions;
  private readonly log: Logger;
  private readonly pending = new Map<string, RefusalBatch>();
  private readonly seen = new Set<string>();
  private server: Server | undefined;
  private bound: string | undefined;

  constructor(options: AuditWebhookOptions) {
    this.o = options;
    this.log = options.logger.child({ component: 'audit-webhook' });
  }

  /** host:port actually bound, once listening. */
  get address(): string | undefined {
    return this.bound;
  }

  /** Serves until `signal` aborts, writing every flush interval; then writes what is left. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.o.bind === '0') return;
    await this.listen();
    while (!signal.aborted) {
      await this.o.clock.sleep(this.o.flushMs ?? 1000, signal);
      await this.flush();
    }
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => {
        resolve();
      });
    });
  }

  private async listen(): Promise<void> {
    const { host, port } = parseBindAddress(this.o.bind);
    const listener: RequestListener = (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err: messageOf(err) }, 'audit webhook handler failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
    const server: Server = this.o.tls ? createTlsServer({ cert: this.o.tls.cert, key: this.o.tls.key }, listener) : createServer(listener);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const info = server.address() as AddressInfo;
    this.bound = `${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
    this.log.info(
      { address: this.bound, tls: this.o.tls !== undefined, authenticated: this.o.token !== undefined },
      'serving the audit webhook on POST /audit',
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body = ''): void => {
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(body);
    };
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/audit') {
      reply(404);
      return;
    }
    if (req.method !== 'POST') {
      reply(405, 'POST an audit.k8s.io/v1 EventList');
      return;
    }
    if (!this.authorized(req.headers.authorization)) {
      this.log.warn({ remote: req.socket.remoteAddress }, 'audit webhook POST without the bearer token: refused');
      reply(401, 'a bearer token is required: the one in --audit-webhook-token-file');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, `at most ${MAX_BODY_BYTES} bytes: lower --audit-webhook-batch-max-size`);
        return;
      }
      chunks.push(chunk);
    }
    let refusals;
    try {
      refusals = auditRefusals(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof AuditBodyError) {
        reply(400, err.message);
        return;
      }
      throw err;
    }
    this.log.debug({ bytes: size, refusals: refusals.length }, 'audit batch');
    for (const r of refusals) {
      if (this.seen.has(r.auditID)) continue;
      this.remember(r.auditID);
      if (this.o.namespaces.length > 0 && !this.o.namespaces.includes(r.namespace)) continue;
      const key = `${r.namespace}/${r.agent}`;
      let batch = this.pending.get(key);
      if (batch === undefined) this.pending.set(key, (batch = new RefusalBatch()));
      batch.add(r.refusal, r.at);
    }
    reply(200);
  }

  private authorized(header: string | undefined): boolean {
    const token = this.o.token;
    if (token === undefined) return true;
    const given = Buffer.from(header ?? '');
    const wanted = Buffer.from(`Bearer ${token}`);
    return given.length === wanted.length && timingSafeEqual(given, wanted);
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > REMEMBERED_IDS) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }

  /** One read-modify-write per agent with something new; a failed one is kept for the next flush. */
  async flush(): Promise<void> {
    const work = [...this.pending.entries()].filter(([, b]) => b.size > 0);
    for (const [key, batch] of work) {
      const [namespace = '', agent = ''] = key.split('/');
      const entries = batch.take();
      this.pending.delete(key);
      try {
        await this.write(namespace, agent, entries);
      } catch (err) {
        if (isNotFound(err)) continue;
        let kept = this.pending.get(key);
        if (kept === undefined) this.pending.set(key, (kept = new RefusalBatch()));
        kept.addAll(entries);
        this.log.warn({ agent: key, err: messageOf(err) }, 'could not record audited refusals; trying again at the next flush');
      }
    }
  }

  private async write(namespace: string, agent: string, entries: ReturnType<RefusalBatch['take']>): Promise<void> {
    const path = objectPath(Agents, namespace, agent);
    for (let tries = 0; tries < WRITE_TRIES; tries++) {
      const live = await this.o.client.request<AgentObject>('GET', path);
      const audited = withRefusals(live.status?.refusals?.audited, entries);
      if (audited === undefined) return;
      try {
        await this.o.client.request('PATCH', `${path}/status`, {
          contentType: 'application/merge-patch+json',
          body: { metadata: { resourceVersion: live.metadata.resourceVersion }, status: { refusals: { audited } } },
        });
        const refused = entries.reduce((n, e) => n + e.count, 0);
        this.log.info({ agent: `${namespace}/${agent}`, refused }, 'audited refusals recorded on the Agent');
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    throw new Error(`agent ${namespace}/${agent}: status kept conflicting`);
  }
}
