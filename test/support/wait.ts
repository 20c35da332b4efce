export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** On timeout, what the state was, added to the error: so a rare failure in CI says where it stuck. */
  describe?: () => Promise<string> | string;
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails when the
 * deadline passes, quoting the last error the probe threw. Tests wait on conditions
 * this way; they never sleep for a fixed time.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 60_000, intervalMs = 100, describe }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'the condition never held';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      const state = describe
        ? await Promise.resolve(describe()).catch((err: unknown) => `(describing the state failed: ${String(err)})`)
        : undefined;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${last}${state ? `\nstate then:\n${state}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
