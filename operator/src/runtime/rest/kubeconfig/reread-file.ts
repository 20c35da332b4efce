import { readFile } from 'node:fs/promises';
import type { Clock } from '../../clock.ts';
import { KubeconfigError } from './file.ts';

/** client-go's period for re-reading a token file. */
export const REREAD_MS = 60_000;

/**
 * A file a kubeconfig names (token, CA, client certificate or key), read again at most
 * once a minute, as client-go does: kubelet rotates a projected ServiceAccount token
 * long before it expires, so the old one still works for the minute it takes to notice.
 * A re-read that fails keeps the last good copy; only a first read that fails is an error.
 */
export class RereadFile {
  private readonly path: string;
  private readonly field: string;
  private readonly clock: Clock;
  private value: Buffer | undefined;
  private readAt = 0;
  private pending: Promise<Buffer> | undefined;

  /** `field` names where the path came from, for the error (users[ci].user.tokenFile). */
  constructor(path: string, field: string, clock: Clock) {
    this.path = path;
    this.field = field;
    this.clock = clock;
  }

  read(): Promise<Buffer> {
    if (this.value && this.clock.now() - this.readAt < REREAD_MS) return Promise.resolve(this.value);
    this.pending ??= this.reread().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async reread(): Promise<Buffer> {
    try {
      const value = await readFile(this.path);
      if (value.length === 0) throw Object.assign(new Error('empty file'), { code: 'empty' });
      this.value = value;
    } catch (err) {
      if (!this.value) {
        const why = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new KubeconfigError(`${this.field} ${this.path}: cannot read it (${why}); fix the path or the file's permissions`);
      }
    }
    this.readAt = this.clock.now();
    return this.value;
  }
}
