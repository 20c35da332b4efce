import { WorkloadError } from '../runtime.ts';

// Connection failures: the engine is down, its socket is missing or not ours to open,
// or the connection died before an answer (a request timeout destroys the socket).
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface DockerModemError {
  code?: unknown;
  statusCode?: unknown;
  json?: unknown;
}

/** True when the request never got an HTTP answer from the engine. */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const { code, statusCode } = err as DockerModemError;
  if (typeof statusCode === 'number') return false;
  return (typeof code === 'string' && UNREACHABLE.has(code)) || /socket hang up/i.test(err.message);
}

export function statusCodeOf(err: unknown): number | undefined {
  const { statusCode } = (err ?? {}) as DockerModemError;
  return typeof statusCode === 'number' ? statusCode : undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;

/** The engine's own words ("No such image: x"), without docker-modem's "(HTTP code 404) ..." wrapping. */
export function dockerMessage(err: unknown): string {
  const { json } = (err ?? {}) as DockerModemError;
  if (typeof json === 'object' && json !== null && 'message' in json && typeof json.message === 'string') return json.message;
  return (err instanceof Error ? err.message : String(err)).trim();
}

export function runtimeUnavailable(endpoint: string, err: unknown): WorkloadError {
  const cause = err instanceof Error ? err.message : String(err);
  return new WorkloadError('RuntimeUnavailable', `the Docker engine at ${endpoint} cannot be reached: ${cause}`);
}

/**
 * What a failed Docker call becomes: RuntimeUnavailable when the engine cannot be
 * reached; a WorkloadError or abort as it is; otherwise Docker's message, saying what
 * was being done to which container.
 */
export function dockerError(endpoint: string, doing: string, err: unknown): Error {
  if (err instanceof WorkloadError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  if (isUnreachable(err)) return runtimeUnavailable(endpoint, err);
  const status = statusCodeOf(err);
  return new Error(`${doing}: ${dockerMessage(err)}${status === undefined ? '' : ` (HTTP ${status})`}`, { cause: err });
}
