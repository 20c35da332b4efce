import { ApiError } from '../errors.ts';
import type { RestClient } from './client.ts';

/**
 * The API server refused the process's credentials when it started. Retrying with the same
 * kubeconfig cannot help, so the process exits saying which credentials to fix, where a
 * retry loop would only log a 401 per informer and never become ready.
 */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export interface CredentialsSource {
  server: string;
  /** The kubeconfig file(s), or in-cluster. */
  source: string;
  context: string | undefined;
}

/** What to tell a person whose credentials the API server refused. */
export function refusedCredentialsMessage(where: CredentialsSource, status: number, reason: string): string {
  const whose =
    where.source === 'in-cluster'
      ? 'the in-cluster ServiceAccount token'
      : `context ${where.context ?? '(current)'} of kubeconfig ${where.source}`;
  const fix =
    status === 401
      ? 'its token or client certificate is wrong or expired: renew the credentials of that user and start again'
      : 'check the credentials of that user';
  return `the API server ${where.server} refused the credentials of ${whose} (${status} ${reason}): ${fix}`;
}

/**
 * One cheap request (/version, which every authenticated identity may read): a 401 throws
 * CredentialsError. Any other failure (the server unreachable, say) is left to the
 * retries of whoever makes the next request.
 */
export async function checkCredentials(client: RestClient, where: CredentialsSource): Promise<void> {
  try {
    await client.request('GET', '/version', { timeoutMs: 10_000, priority: 'high' });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) throw new CredentialsError(refusedCredentialsMessage(where, err.status, err.reason));
  }
}
