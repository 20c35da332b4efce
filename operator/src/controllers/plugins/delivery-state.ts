import { rfc3339 } from '../conditions.ts';
import type { PluginReports } from './host.ts';

/** What deliveries to one endpoint came to, since the operator started. */
export interface EndpointState {
  delivered: number;
  failed: number;
  lastSuccessAt?: number;
  lastFailure?: { at: number; message: string };
  /** Last delivery of any outcome: an endpoint idle for long is forgotten. */
  lastActivityAt: number;
}

/** An endpoint with no delivery for this long leaves the report (it was renamed or removed, say). */
const FORGET_AFTER_MS = 60 * 60_000;
const MAX_MESSAGE = 1024;

const truncate = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * Delivery state per (namespace, plugin, endpoint), reported to the policy's
 * status.plugins through PluginReports. The report's words change only when counts or
 * failures do; the policy controller is told at once when an endpoint starts or stops
 * failing, and picks up counts at its next reconcile.
 */
export class DeliveryState {
  private readonly reports: PluginReports;
  /** namespace → plugin → endpoint → state */
  private readonly state = new Map<string, Map<string, Map<string, EndpointState>>>();

  constructor(reports: PluginReports) {
    this.reports = reports;
  }

  /** The endpoint's state, for metrics and tests. */
  get(namespace: string, plugin: string, endpoint: string): EndpointState | undefined {
    return this.state.get(namespace)?.get(plugin)?.get(endpoint);
  }

  delivered(namespace: string, plugin: string, endpoint: string, now: number): void {
    const { state, fresh } = this.entry(namespace, plugin, endpoint, now);
    const wasFailing = failing(state);
    state.delivered++;
    state.lastSuccessAt = now;
    this.publish(namespace, plugin, now, fresh || wasFailing);
  }

  /** A delivery that failed for good (`counted`), or trouble after it (an answer that could not be written). */
  failed(namespace: string, plugin: string, endpoint: string, message: string, now: number, counted = true): void {
    const { state, fresh } = this.entry(namespace, plugin, endpoint, now);
    const wasFailing = failing(state);
    if (counted) state.failed++;
    state.lastFailure = { at: now, message: truncate(message, MAX_MESSAGE) };
    this.publish(namespace, plugin, now, fresh || !wasFailing);
  }

  private entry(namespace: string, plugin: string, endpoint: string, now: number): { state: EndpointState; fresh: boolean } {
    let plugins = this.state.get(namespace);
    if (plugins === undefined) this.state.set(namespace, (plugins = new Map<string, Map<string, EndpointState>>()));
    let endpoints = plugins.get(plugin);
    if (endpoints === undefined) plugins.set(plugin, (endpoints = new Map<string, EndpointState>()));
    let state = endpoints.get(endpoint);
    const fresh = state === undefined;
    if (state === undefined) endpoints.set(endpoint, (state = { delivered: 0, failed: 0, lastActivityAt: now }));
    state.lastActivityAt = now;
    return { state, fresh };
  }

  /** "12 delivered, 1 failed; endpoint audit: last failure <time>: HTTP 500", and the latest failure. */
  private publish(namespace: string, plugin: string, now: number, notify: boolean): void {
    const endpoints = this.state.get(namespace)?.get(plugin);
    if (endpoints === undefined) return;
    for (const [name, s] of endpoints) if (now - s.lastActivityAt > FORGET_AFTER_MS) endpoints.delete(name);
    const all = [...endpoints].sort(([a], [b]) => (a < b ? -1 : 1));
    const delivered = all.reduce((n, [, s]) => n + s.delivered, 0);
    const failed = all.reduce((n, [, s]) => n + s.failed, 0);
    const troubles = all.flatMap(([name, s]) =>
      s.lastFailure && failing(s) ? [`endpoint ${name}: last failure ${rfc3339(s.lastFailure.at)}: ${s.lastFailure.message}`] : [],
    );
    let last: { name: string; at: number; message: string } | undefined;
    for (const [name, s] of all) if (s.lastFailure && (last === undefined || s.lastFailure.at > last.at)) last = { name, ...s.lastFailure };
    const message = truncate([`${delivered} delivered, ${failed} failed`, ...troubles].join('; '), MAX_MESSAGE);
    this.reports.set(
      namespace,
      plugin,
      {
        message,
        ...(last
          ? { lastFailureTime: rfc3339(last.at), lastFailure: truncate(`endpoint ${last.name}: ${last.message}`, MAX_MESSAGE) }
          : {}),
      },
      notify,
    );
  }
}

/** Failing: its last delivery failed (a success since clears it). */
function failing(s: EndpointState): boolean {
  return s.lastFailure !== undefined && (s.lastSuccessAt === undefined || s.lastFailure.at > s.lastSuccessAt);
}
