/** A failed call to the API server, with the Status it answered. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** metav1.Status reason, e.g. Conflict, NotFound, Expired, AlreadyExists. */
  readonly reason: string;
  readonly method: string;
  readonly path: string;

  constructor(status: number, reason: string, message: string, method: string, path: string) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.status = status;
    this.reason = reason;
    this.method = method;
    this.path = path;
  }
}

/**
 * Returned (thrown) by a reconciler for a problem retrying cannot fix: a spec the
 * operator cannot act on, say. The key is not requeued; the object's status should say why.
 */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

const statusIs =
  (status: number) =>
  (err: unknown): boolean =>
    err instanceof ApiError && err.status === status;

export const isNotFound = statusIs(404);
export const isConflict = statusIs(409);
/** 410: the resourceVersion asked for was compacted away; the caller must relist. */
export const isGone = statusIs(410);
export const isAlreadyExists = (err: unknown): boolean => err instanceof ApiError && err.reason === 'AlreadyExists';

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
