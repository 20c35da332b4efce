import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import type { RestClient } from './client.ts';
import { CredentialsError, checkCredentials, refusedCredentialsMessage } from './credentials.ts';

const where = { server: 'https://127.0.0.1:16443', source: '/etc/ao/kubeconfig', context: 'prod' };
const answering = (err: Error | undefined): RestClient =>
  ({
    request: () => (err === undefined ? Promise.resolve({ major: '1' }) : Promise.reject(err)),
  }) as unknown as RestClient;

describe('refusedCredentialsMessage', () => {
  it.each([
    [where, 401, 'context prod of kubeconfig /etc/ao/kubeconfig (401 Unauthorized): its token or client certificate is wrong or expired'],
    [{ ...where, source: 'in-cluster', context: undefined }, 401, 'the in-cluster ServiceAccount token (401 Unauthorized)'],
  ])('names the credentials and the fix (%#)', (w, status, want) => {
    expect(refusedCredentialsMessage(w, status, 'Unauthorized')).toContain(want);
  });
});

describe('checkCredentials', () => {
  it('throws CredentialsError on a 401', async () => {
    const err = await checkCredentials(answering(new ApiError(401, 'Unauthorized', 'Unauthorized', 'GET', '/version')), where).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CredentialsError);
    expect((err as Error).message).toContain('kubeconfig /etc/ao/kubeconfig');
  });

  it.each([
    ['an answer', undefined],
    ['a 403 (authenticated, only not allowed)', new ApiError(403, 'Forbidden', 'no', 'GET', '/version')],
    ['an unreachable server (the informers retry)', new Error('connect ECONNREFUSED 127.0.0.1:16443')],
  ])('lets the start go on after %s', async (_what, err) => {
    await expect(checkCredentials(answering(err), where)).resolves.toBeUndefined();
  });
});
