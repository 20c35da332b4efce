import type { Logger } from 'pino';
import { isAborted, type Clock } from '../operator/src/runtime/clock.ts';
import { RefusalBatch, withRefusals, type Refusal } from '../operator/src/core/refusal-log.ts';
import { ApiError, messageOf } from '../operator/src/runtime/errors.ts';
import { RestClient, type Query, type RequestOptions, type RestClientOptions } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject, WatchEvent } from '../operator/src/runtime/rest/object.ts';
import type { AccessSource } from '../operator/src/runtime/rest/kubeconfig/client-node.ts';
import { updateOwnStatus } from './agent-status.ts';

const VERBS: Readonly<Record<string, string>> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * What a refused request asked for, from its method, path and query, in the words of the
 * API server's audit log (verb, resource with subresource, name, namespace): a list or
 * watch narrowed by `metadata.name=` names its object, as RBAC reads it.
 */
export function refusalOf(method: string, path: string, query: Query | undefined, message: string): Refusal {
  const parts = path.split('?')[0]?.split('/').filter(Boolean) ?? [];
  // /api/v1/... or /apis/<group>/<version>/...
  const rest = parts[0] === 'api' ? parts.slice(2) : parts.slice(3);
  let namespace: string | undefined;
  let segments = rest;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    segments = rest.slice(2);
  }
  const [resource = '', objectName, subresource] = segments;
  const selected = /(?:^|,)metadata\.name=([^,]+)/.exec(String(query?.fieldSelector ?? ''))?.[1];
  const name = objectName ?? selected;
  const verb =
    method === 'GET'
      ? query?.watch === true || query?.watch === 'true'
        ? 'watch'
        : objectName === undefined
          ? 'list'
          : 'get'
      : method === 'DELETE' && objectName === undefined
        ? 'deletecollection'
        : (VERBS[method] ?? method.toLowerCase());
  return {
    verb,
    resource: subresource === undefined ? resource : `${resource}/${subresource}`,
    ...(name === undefined ? {} : { name }),
    ...(namespace === undefined ? {} : { namespace }),
    message,
  };
}

/**
 * The runner's API client: a RestClient that tells `onRefusal` about every request the
 * API server refuses (403), whoever in the runner made it (heartbeat, task caches, result
 * writes, compaction), then throws as before: the caller still retries as it did.
 */
export class RefusalReportingClient extends RestClient {
  private readonly onRefusal: (r: Refusal) => void;

  constructor(access: AccessSource, onRefusal: (r: Refusal) => void, options: RestClientOptions = {}) {
    super(access, options);
    this.onRefusal = onRefusal;
  }

  override async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    try {
      return await super.request<T>(method, path, options);
    } catch (err) {
      this.note(err, method, options.query);
      throw err;
    }
  }

  override async *watch<T extends KubeObject>(path: string, query: Query, signal: AbortSignal): AsyncGenerator<WatchEvent<T>> {
    try {
      yield* super.watch<T>(path, query, signal);
    } catch (err) {
      this.note(err, 'GET', { ...query, watch: true });
      throw err;
    }
  }

  private note(err: unknown, method: string, query: Query | undefined): void {
    if (err instanceof ApiError && err.status === 403) this.onRefusal(refusalOf(method, err.path, query, err.message));
  }
}

export interface RefusalReporterOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  /** At most one status write per interval, and only when something was refused. */
  intervalMs: number;
  clock: Clock;
  logger: Logger;
}

/**
 * Gathers the runner's refusals and writes them to its Agent's status.refusals.reported,
 * coalesced: one read-modify-write per interval at most, however many refusals came
 * (a storm of one refusal is one entry with a count). A write that fails is retried
 * with the next one; the threat-detection plugin reads the log.
 */
export class RefusalReporter {
  private readonly o: RefusalReporterOptions;
  private readonly pending = new RefusalBatch();

  constructor(options: RefusalReporterOptions) {
    this.o = options;
  }

  record(r: Refusal): void {
    this.pending.add(r, this.o.clock.now());
  }

  /** Refusals not written yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /** Writes every interval until `signal` aborts, then once more: what was refused last is not lost. */
  async run(signal: AbortSignal): Promise<void> {
    while (!isAborted(signal)) {
      await this.o.clock.sleep(this.o.intervalMs, signal);
      await this.flush();
    }
  }

  /** Writes what was refused since the last write; on failure keeps it for the next. */
  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending.take();
    const refused = batch.reduce((n, e) => n + e.count, 0);
    this.o.logger.warn(
      { refused, what: batch.map((e) => `${e.verb} ${e.resource}${e.name === undefined ? '' : ` ${e.name}`} x${e.count}`).slice(0, 5) },
      'requests refused (403) since the last report; reporting them on the Agent',
    );
    try {
      await updateOwnStatus(this.o.client, this.o.namespace, this.o.agent, (live) => {
        const reported = withRefusals(live.status?.refusals?.reported, batch);
        return reported === undefined ? undefined : { refusals: { reported } };
      });
    } catch (err) {
      this.pending.addAll(batch);
      this.o.logger.warn(
        { err: messageOf(err), refusals: this.pending.size },
        'could not report refusals; trying again at the next interval',
      );
    }
  }
}
