/** Lines kept per running task for status.progress, and the length of each (the CRD's limits). */
export const PROGRESS_LINES = 10;
export const PROGRESS_LINE_CHARS = 512;

/**
 * The last lines each running attempt wrote, for the runner to copy into the Task's
 * status.progress on a throttle. A version number per attempt says whether anything came
 * since the last copy, so an attempt that prints nothing costs no write.
 */
export class ProgressLines {
  private readonly byAttempt = new Map<string, { lines: string[]; version: number }>();

  push(key: string, line: string): void {
    let entry = this.byAttempt.get(key);
    if (!entry) this.byAttempt.set(key, (entry = { lines: [], version: 0 }));
    entry.lines.push(Array.from(line).slice(0, PROGRESS_LINE_CHARS).join(''));
    if (entry.lines.length > PROGRESS_LINES) entry.lines.shift();
    entry.version++;
  }

  /** The lines, if any came after version `since`. */
  since(key: string, since: number): { lines: string[]; version: number } | undefined {
    const entry = this.byAttempt.get(key);
    return entry && entry.version > since ? { lines: [...entry.lines], version: entry.version } : undefined;
  }

  forget(key: string): void {
    this.byAttempt.delete(key);
  }
}

/** The key of one attempt of one task. */
export const attemptKey = (namespace: string, name: string, attempt: number): string => `${namespace}/${name}#${attempt}`;
