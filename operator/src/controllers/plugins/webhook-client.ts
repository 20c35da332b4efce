import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import * as http from 'node:http';
import * as https from 'node:https';
import { isAborted, type Clock } from '../../runtime/clock.ts';
import { ApiError, isNotFound, messageOf } from '../../runtime/errors.ts';
import { bodyText, exchange } from '../../runtime/http-exchange.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { DeliveryState } from './delivery-state.ts';
import { parseGateAnswer, writeVerdict, type Verdict } from './gate-answer.ts';
import type { PluginReports } from './host.ts';
import type { PluginHook } from './lifecycle-host.ts';

export const SIGNATURE_HEADER = 'X-Agent-Orchestrator-Signature';
export const CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';

export interface WebhookClientOptions {
  /** Reads signing Secrets and writes gate answers on Tasks. */
  client: RestClient;
  clock: Clock;
  logger: Logger;
  reports: PluginReports;
  metrics?: Registry;
  /** Requests in flight at once, over every endpoint (default 16). */
  concurrency?: number;
  /** Deliveries waiting, over every endpoint (default 10 000); one endpoint holds at most a tenth. */
  queueLimit?: number;
  /** How long a signing key read from a Secret is used before it is read again (default 30 s). */
  secretTtlMs?: number;
}

interface Job {
  readonly namespace: string;
  readonly hook: PluginHook;
  readonly key: string;
}

interface Lane {
  readonly queue: Job[];
  active: number;
  /** Events go one at a time, in order; gate questions are independent of each other. */
  readonly parallel: number;
}

type Attempt = { ok: true; body: string } | { ok: false; retryable: boolean; message: string };

const GATE_PARALLEL = 4;
/** A gate answered this recently is not asked again: the cache may not show the answer yet. */
const ANSWERED_TTL_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const MAX_BODY = 65_536;
const SECRET_ERROR_TTL_MS = 5_000;

class Stopped extends Error {}

/**
 * Delivers the webhooks lifecycle plugins ask for (the hooks family): POSTs each Hook's
 * CloudEvent in structured mode, signed with HMAC-SHA256 when the endpoint names a
 * Secret, with a per-request timeout and retries with exponential backoff. `deliver`
 * only enqueues: a slow or dead endpoint holds up its own lane, never routing or the
 * plugin host. Events to one endpoint go in order, one at a time; gate questions go
 * several at a time, and their answers are written on the task (gate-answer.ts).
 * Delivery is at least once: an event id queued or in flight is not queued again, and
 * receivers dedupe by id.
 */
export class WebhookClient {
  private readonly o: WebhookClientOptions;
  private readonly log: Logger;
  private readonly state: DeliveryState;
  private readonly lanes = new Map<string, Lane>();
  /** Event keys queued or in flight. */
  private readonly pending = new Set<string>();
  /** Gate keys answered lately, until when. */
  private readonly answered = new Map<string, number>();
  private readonly secrets = new Map<string, { until: number; key: Promise<Buffer> }>();
  private readonly waiters: (() => void)[] = [];
  private readonly jobs = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly queueLimit: number;
  private inFlight = 0;
  private queued = 0;
  private stop = new AbortController();
  /** Keep-alive pools, one per scheme: 8 connections per endpoint, idle ones closed after 10 s. */
  private pools: { http: http.Agent; https: https.Agent } | undefined;
  private readonly deliveries: Counter<'namespace' | 'plugin' | 'endpoint' | 'outcome'> | undefined;
  private readonly depth: Gauge | undefined;

  constructor(options: WebhookClientOptions) {
    this.o = options;
    this.log = options.logger.child({ component: 'webhooks' });
    this.state = new DeliveryState(options.reports);
    this.concurrency = options.concurrency ?? 16;
    this.queueLimit = options.queueLimit ?? 10_000;
    if (options.metrics) {
      const registers = [options.metrics];
      this.deliveries = new Counter({
        name: 'agent_orchestrator_webhook_deliveries_total',
        help: 'Webhook deliveries by outcome: delivered, failed (after the last retry), dropped (queue full)',
        labelNames: ['namespace', 'plugin', 'endpoint', 'outcome'],
        registers,
      });
      this.depth = new Gauge({
        name: 'agent_orchestrator_webhook_queue_depth',
        help: 'Webhook deliveries waiting or in flight',
        registers,
      });
    }
  }

  /** Queues the hooks of a namespace and returns at once (the lifecycle host's `deliver`). */
  readonly deliver = (namespace: string, hooks: readonly PluginHook[]): void => {
    if (this.stop.signal.aborted) return;
    const now = this.o.clock.now();
    for (const [key, until] of this.answered) if (until <= now) this.answered.delete(key);
    for (const hook of hooks) {
      const key = `${namespace}\u0000${hook.plugin}\u0000${hook.endpoint}\u0000${hook.event.id}`;
      if (this.pending.has(key) || this.answered.has(key)) continue;
      const laneKey = `${namespace}\u0000${hook.plugin}\u0000${hook.endpoint}\u0000${hook.gate ? 'gate' : 'events'}`;
      let lane = this.lanes.get(laneKey);
      if (lane === undefined) this.lanes.set(laneKey, (lane = { queue: [], active: 0, parallel: hook.gate ? GATE_PARALLEL : 1 }));
      if (this.queued >= this.queueLimit || lane.queue.length >= Math.max(1, this.queueLimit / 10)) {
        // A gate question that does not fit is asked again on a later tick: no loss to report.
        if (hook.gate) continue;
        this.deliveries?.inc({ namespace, plugin: hook.plugin, endpoint: hook.endpoint, outcome: 'dropped' });
        this.state.failed(namespace, hook.plugin, hook.endpoint, `queue full: event ${hook.event.id} dropped`, now);
        continue;
      }
      this.pending.add(key);
      this.queued++;
      lane.queue.push({ namespace, hook, key });
      this.pump(laneKey, lane);
    }
    this.depth?.set(this.queued);
  };

  /** The delivery state of one endpoint (for tests and debugging). */
  endpointState(namespace: string, plugin: string, endpoint: string): ReturnType<DeliveryState['get']> {
    return this.state.get(namespace, plugin, endpoint);
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs]);
  }

  /** A Runnable: on abort, stops: what is in flight is aborted, what waits is dropped. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.stop.signal.aborted) this.stop = new AbortController();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else
        signal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
    });
    await this.close();
  }

  async close(): Promise<void> {
    this.stop.abort();
    for (const w of this.waiters.splice(0)) w();
    for (const lane of this.lanes.values()) {
      for (const job of lane.queue.splice(0)) {
        this.pending.delete(job.key);
        this.queued--;
      }
    }
    await this.idle();
    this.pools?.http.destroy();
    this.pools?.https.destroy();
    this.pools = undefined;
    this.depth?.set(this.queued);
  }

  private pump(laneKey: string, lane: Lane): void {
    while (lane.active < lane.parallel && lane.queue.length > 0) {
      const job = lane.queue.shift();
      if (job === undefined) break;
      lane.active++;
      const run = this.process(job)
        .catch((err: unknown) => {
          if (!(err instanceof Stopped))
            this.log.error(
              { namespace: job.namespace, endpoint: job.hook.endpoint, err: messageOf(err) },
              'webhook delivery failed unexpectedly',
            );
        })
        .finally(() => {
          this.jobs.delete(run);
          this.pending.delete(job.key);
          this.queued--;
          this.depth?.set(this.queued);
          lane.active--;
          if (lane.queue.length > 0) this.pump(laneKey, lane);
          else if (lane.active === 0) this.lanes.delete(laneKey);
        });
      this.jobs.add(run);
    }
  }

  /** One hook: attempts with backoff, then the outcome recorded (and for a gate, written). */
  private async process(job: Job): Promise<void> {
    const { hook, namespace } = job;
    const body = JSON.stringify(hook.body === 'data' ? hook.event.data : hook.event);
    let failure = '';
    let attempts = 0;
    for (let attempt = 0; attempt <= hook.retries; attempt++) {
      if (attempt > 0) {
        await this.o.clock.sleep(Math.min(MAX_BACKOFF_MS, hook.backoffMs * 2 ** (attempt - 1)), this.stop.signal);
      }
      if (isAborted(this.stop.signal)) throw new Stopped();
      attempts++;
      const result = await this.withSlot(() => this.attempt(namespace, hook, body));
      if (isAborted(this.stop.signal)) throw new Stopped();
      if (result.ok) {
        const answer = hook.gate ? parseGateAnswer(result.body) : undefined;
        if (answer !== undefined && 'error' in answer) {
          failure = answer.error;
          break;
        }
        this.deliveries?.inc({ namespace, plugin: hook.plugin, endpoint: hook.endpoint, outcome: 'delivered' });
        this.state.delivered(namespace, hook.plugin, hook.endpoint, this.o.clock.now());
        if (answer !== undefined) {
          const verdict: Verdict = {
            verdict: answer.allow ? 'allow' : 'deny',
            message: answer.message ?? '',
            ...(answer.labels ? { labels: answer.labels } : {}),
            ...(answer.inputPrefix !== undefined ? { inputPrefix: answer.inputPrefix } : {}),
          };
          await this.answer(job, verdict);
        }
        return;
      }
      failure = result.message;
      if (!result.retryable) break;
    }
    const now = this.o.clock.now();
    const message = attempts > 1 ? `${failure} (after ${attempts} attempts)` : failure;
    this.deliveries?.inc({ namespace, plugin: hook.plugin, endpoint: hook.endpoint, outcome: 'failed' });
    this.state.failed(namespace, hook.plugin, hook.endpoint, message, now);
    this.log.warn({ namespace, plugin: hook.plugin, endpoint: hook.endpoint, event: hook.event.id, err: message }, 'webhook not delivered');
    if (hook.gate) {
      const verdict: Verdict =
        hook.failurePolicy === 'Fail'
          ? { verdict: 'error', message: `the hook could not be asked: ${message} (failurePolicy Fail)` }
          : { verdict: 'allow', message: `the hook could not be asked: ${message}; allowed (failurePolicy Ignore)` };
      await this.answer(job, verdict);
    }
  }

  /** Writes a gate's verdict on its task; the question is not asked again while the cache catches up. */
  private async answer(job: Job, verdict: Verdict): Promise<void> {
    const { hook, namespace } = job;
    if (!hook.gate) return;
    try {
      const written = await writeVerdict(this.o.client, namespace, hook.gate, verdict, this.o.clock.now(), this.stop.signal);
      this.answered.set(job.key, this.o.clock.now() + ANSWERED_TTL_MS);
      this.log.debug({ namespace, task: hook.gate.task, verdict: verdict.verdict, written }, 'pre-assignment answer');
    } catch (err) {
      if (this.stop.signal.aborted) throw new Stopped();
      const message = `the answer for task ${hook.gate.task} could not be written: ${messageOf(err)}`;
      this.state.failed(namespace, hook.plugin, hook.endpoint, message, this.o.clock.now(), false);
      this.log.warn({ namespace, task: hook.gate.task, err: messageOf(err) }, 'could not write a pre-assignment answer; it is asked again');
    }
  }

  /** Runs `fn` holding one of the `concurrency` request slots. */
  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.inFlight >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.stop.signal.aborted) throw new Stopped();
    }
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
      this.waiters.shift()?.();
    }
  }

  /** One POST: its outcome, and whether trying again could help. */
  private async attempt(namespace: string, hook: PluginHook, body: string): Promise<Attempt> {
    const headers: Record<string, string> = {
      'content-type': hook.body === 'data' ? 'application/json' : CONTENT_TYPE,
      'user-agent': 'agent-orchestrator',
    };
    if (hook.signingSecret) {
      let key: Buffer;
      try {
        key = await this.signingKey(namespace, hook.signingSecret);
      } catch (err) {
        return { ok: false, retryable: true, message: messageOf(err) };
      }
      headers[SIGNATURE_HEADER.toLowerCase()] = `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
    }
    const timeout = new AbortController();
    const cancel = this.o.clock.setTimer(hook.timeoutMs, () => {
      timeout.abort();
    });
    try {
      const url = new URL(hook.url);
      const res = await exchange(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: this.agent(url),
          signal: AbortSignal.any([timeout.signal, this.stop.signal]),
        },
        body,
      );
      const text = await bodyText(res, MAX_BODY);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return { ok: true, body: text };
      const said = text.replace(/\s+/g, ' ').trim().slice(0, 120);
      const retryable = status === 408 || status === 429 || status >= 500;
      return { ok: false, retryable, message: `HTTP ${String(status)}${said ? `: ${said}` : ''}` };
    } catch (err) {
      if (timeout.signal.aborted) return { ok: false, retryable: true, message: `no answer within ${hook.timeoutMs} ms` };
      const code = (err as { code?: string }).code;
      return { ok: false, retryable: true, message: code ? `${code}: ${messageOf(err)}` : messageOf(err) };
    } finally {
      cancel();
    }
  }

  private agent(url: URL): http.Agent {
    // An agent's timeout closes only idle kept-alive sockets; each request has its own deadline.
    const options = { keepAlive: true, maxSockets: 8, timeout: 10_000 };
    this.pools ??= { http: new http.Agent(options), https: new https.Agent(options) };
    return url.protocol === 'https:' ? this.pools.https : this.pools.http;
  }

  /** The HMAC key from the Secret, read through the API and kept a short while. */
  private signingKey(namespace: string, ref: { readonly name: string; readonly key: string }): Promise<Buffer> {
    const cacheKey = `${namespace}/${ref.name}/${ref.key}`;
    const now = this.o.clock.now();
    const cached = this.secrets.get(cacheKey);
    if (cached && cached.until > now) return cached.key;
    const key = this.readKey(namespace, ref);
    const ttl = this.o.secretTtlMs ?? 30_000;
    this.secrets.set(cacheKey, { until: now + ttl, key });
    key.catch(() => {
      // A failed read is tried again sooner than a good key is refreshed.
      const entry = this.secrets.get(cacheKey);
      if (entry?.key === key) entry.until = Math.min(entry.until, this.o.clock.now() + SECRET_ERROR_TTL_MS);
    });
    return key;
  }

  private async readKey(namespace: string, ref: { readonly name: string; readonly key: string }): Promise<Buffer> {
    let secret: { data?: Record<string, string> };
    try {
      secret = await this.o.client.request('GET', `/api/v1/namespaces/${namespace}/secrets/${ref.name}`, { signal: this.stop.signal });
    } catch (err) {
      if (isNotFound(err)) throw new Error(`signing Secret ${ref.name} not found in namespace ${namespace}`, { cause: err });
      if (err instanceof ApiError && err.status === 403) {
        throw new Error(`the operator may not read signing Secret ${ref.name}: add it to the chart value hooks.signingSecrets`, {
          cause: err,
        });
      }
      throw new Error(`signing Secret ${ref.name} could not be read: ${messageOf(err)}`, { cause: err });
    }
    const value = secret.data?.[ref.key];
    if (value === undefined) throw new Error(`signing Secret ${ref.name} has no key ${ref.key}`);
    const key = Buffer.from(value, 'base64');
    if (key.length === 0) throw new Error(`key ${ref.key} of signing Secret ${ref.name} is empty`);
    return key;
  }
}
