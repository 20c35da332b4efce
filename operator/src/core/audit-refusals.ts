// The API server's audit webhook backend POSTs audit.k8s.io/v1 EventLists: this picks out
// the refusals (403) of agent identities. Pure: the body is an argument, nothing is kept.
import type { Refusal } from './refusal-log.ts';

/** What an agent's refusal is filed under: its Agent, and the refusal with its instant. */
export interface AuditRefusal {
  /** The audit event's id: the backend resends a batch whose POST failed. */
  readonly auditID: string;
  readonly namespace: string;
  readonly agent: string;
  readonly at: number;
  readonly refusal: Refusal;
}

const AGENT_USER = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):agent-([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export class AuditBodyError extends Error {
  override readonly name = 'AuditBodyError';
}

/** A list or watch narrowed by metadata.name names its object in the URI only. */
function selectedName(requestURI: string | undefined): string | undefined {
  if (requestURI === undefined) return undefined;
  const query = requestURI.split('?')[1];
  if (query === undefined) return undefined;
  const selector = new URLSearchParams(query).get('fieldSelector') ?? '';
  return /(?:^|,)metadata\.name=([^,]+)/.exec(selector)?.[1];
}

/**
 * The refusals of agent identities (system:serviceaccount:<ns>:agent-<name>) in an
 * EventList: events at stage ResponseComplete (the backend may send one request at several
 * stages) whose response was 403. Throws AuditBodyError naming what is wrong with a body
 * that is not an EventList.
 */
export function auditRefusals(body: unknown): AuditRefusal[] {
  if (!isObject(body) || body.kind !== 'EventList' || !Array.isArray(body.items)) {
    throw new AuditBodyError('expected an audit.k8s.io/v1 EventList: {"kind": "EventList", "items": [...]}');
  }
  const found: AuditRefusal[] = [];
  for (const e of body.items as unknown[]) {
    if (!isObject(e) || e.stage !== 'ResponseComplete') continue;
    const status = isObject(e.responseStatus) ? e.responseStatus : undefined;
    if (status?.code !== 403) continue;
    const user = isObject(e.user) ? text(e.user.username) : undefined;
    const who = user === undefined ? null : AGENT_USER.exec(user);
    const auditID = text(e.auditID);
    const verb = text(e.verb);
    if (!who || auditID === undefined || verb === undefined) continue;
    const ref = isObject(e.objectRef) ? e.objectRef : {};
    const resource = text(ref.resource) ?? 'unknown';
    const subresource = text(ref.subresource);
    const name = text(ref.name) ?? selectedName(text(e.requestURI));
    const namespace = text(ref.namespace);
    const message = text(status.message);
    const at = Date.parse(text(e.stageTimestamp) ?? text(e.requestReceivedTimestamp) ?? '');
    if (Number.isNaN(at)) continue;
    found.push({
      auditID,
      namespace: who[1] ?? '',
      agent: who[3] ?? '',
      at,
      refusal: {
        verb,
        resource: subresource === undefined ? resource : `${resource}/${subresource}`,
        ...(name === undefined ? {} : { name }),
        ...(namespace === undefined ? {} : { namespace }),
        ...(message === undefined ? {} : { message }),
      },
    });
  }
  return found;
}
