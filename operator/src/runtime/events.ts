import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { systemClock, type Clock } from './clock.ts';
import { isNotFound, messageOf } from './errors.ts';
import type { RestClient } from './rest/client.ts';
import { microTime, type KubeObject } from './rest/object.ts';
import { Events, apiVersionOf, collectionPath, objectPath } from './rest/resource.ts';

export type EventType = 'Normal' | 'Warning';

/** The API server's limits: an Event's name is a DNS subdomain, its note at most 1 kB (bytes, not characters). */
const NAME_MAX = 253;
// Events waiting for their budget (20 writes/s) are bounded, as client-go's broadcaster
// drops past 1,000 queued: unbounded, a burst of thousands queued for minutes, each Event
// late and the process holding them all. At this budget 1,000 would be a minute late.
const DEFAULT_MAX_OUTSTANDING = 200;
const NOTE_MAX_BYTES = 1024;

/**
 * `<object>.<time><hash>` as client-go names Events, with the object's part shortened
 * when the whole would pass 253 characters (a Task may have a name of 253): the API
 * server refuses longer names, and the Event would be lost.
 */
export function eventName(regarding: string, now: number, fingerprint: string): string {
  const suffix = `${now.toString(16)}${createHash('sha256').update(fingerprint).digest('hex').slice(0, 6)}`;
  // A cut may end on '.' or '-', which no DNS label may end with.
  const head = regarding.slice(0, NAME_MAX - suffix.length - 1).replace(/[-.]+$/, '');
  return `${head || 'object'}.${suffix}`;
}

/** The longest prefix of `s` of at most `maxBytes` bytes of UTF-8, never half a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s, 'utf8') <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return s.slice(0, end);
}

export interface EventRecorderOptions {
  client: RestClient;
  /** reportingController, e.g. agents.orchestrator.dev/operator. */
  controller: string;
  /** reportingInstance: this replica. */
  instance: string;
  logger: Logger;
  clock?: Clock;
  /** Repeats within this window become one Event with a growing series count. */
  aggregateWindowMs?: number;
  /** Events waiting for the budget or an answer; past it new ones are dropped (and counted). */
  maxOutstanding?: number;
  dropped?: Counter<'reason'>;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

/**
 * Records events.k8s.io/v1 Events about objects. Repeats of the same event (object,
 * type, reason, action, note) within the window update one Event's series instead of
 * creating new ones, so a crash loop does not flood etcd. Recording never throws:
 * Events are best effort, a failure is logged and counted.
 */
export class EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly clock: Clock;
  private readonly seen = new Map<string, Seen>();
  private outstanding = 0;
  /** Dropped since the backlog filled: logged once per burst, when it drains. */
  private droppedInBurst = 0;

  constructor(options: EventRecorderOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
  }

  async record(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const max = this.o.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
    if (this.outstanding >= max) {
      if (this.droppedInBurst++ === 0)
        this.o.logger.warn({ outstanding: this.outstanding }, 'too many Events waiting to be written; dropping new ones until they drain');
      this.o.dropped?.inc({ reason: 'backlog' });
      return;
    }
    this.outstanding++;
    try {
      await this.write(regarding, type, reason, action, note);
    } finally {
      this.outstanding--;
      if (this.droppedInBurst > 0 && this.outstanding <= max / 2) {
        this.o.logger.warn({ dropped: this.droppedInBurst }, 'Events dropped while the backlog was full');
        this.droppedInBurst = 0;
      }
    }
  }

  private async write(regarding: KubeObject, type: EventType, reason: string, action: string, note: string): Promise<void> {
    const namespace = regarding.metadata.namespace ?? 'default';
    const now = this.clock.now();
    const fingerprint = [regarding.metadata.uid, regarding.metadata.name, type, reason, action, note].join('\u0000');
    const window = this.o.aggregateWindowMs ?? 10 * 60_000;
    this.forgetOlderThan(now - window);
    const seen = this.seen.get(fingerprint);
    try {
      if (seen) {
        seen.count++;
        await this.o.client.request('PATCH', objectPath(Events, seen.namespace, seen.name), {
          body: { series: { count: seen.count, lastObservedTime: microTime(now) } },
          contentType: 'application/merge-patch+json',
        });
        return;
      }
      const name = eventName(regarding.metadata.name ?? 'object', now, fingerprint);
      await this.o.client.request('POST', collectionPath(Events, namespace), {
        body: {
          apiVersion: apiVersionOf(Events),
          kind: Events.kind,
          metadata: { name, namespace },
          eventTime: microTime(now),
          reportingController: this.o.controller,
          reportingInstance: this.o.instance.slice(0, 128),
          action: action.slice(0, 128),
          reason: reason.slice(0, 128),
          type,
          note: truncateUtf8(note, NOTE_MAX_BYTES),
          regarding: {
            apiVersion: regarding.apiVersion,
            kind: regarding.kind,
            name: regarding.metadata.name,
            namespace: regarding.metadata.namespace,
            uid: regarding.metadata.uid,
            resourceVersion: regarding.metadata.resourceVersion,
          },
        },
      });
      this.seen.set(fingerprint, { name, namespace, count: 1, firstAt: now });
    } catch (err) {
      // An aggregated Event that was deleted (TTL) starts a new one next time.
      if (seen && isNotFound(err)) this.seen.delete(fingerprint);
      this.o.dropped?.inc({ reason: 'write_failed' });
      this.o.logger.warn({ err: messageOf(err), reason, regarding: regarding.metadata.name }, 'could not record an event');
    }
  }

  private forgetOlderThan(cutoff: number): void {
    for (const [fingerprint, seen] of this.seen) if (seen.firstAt < cutoff) this.seen.delete(fingerprint);
  }
}
