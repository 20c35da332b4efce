/** Reading answers from fetch (undici) with bounds: shared by the http and model executors. */

/** Reads at most about `limit` bytes; `complete` is false when the body was longer. */
export async function readBody(res: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  if (res.body === null) return { text: '', complete: true };
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: Buffer.concat(chunks).toString('utf8'), complete: true };
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return { text: Buffer.concat(chunks).toString('utf8'), complete: false };
    }
  }
}

/** fetch wraps the useful part (ECONNREFUSED) in the cause of a TypeError('fetch failed'). */
export function describeFetchError(err: unknown): string {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ('code' in e && typeof e.code === 'string') return e.code;
    if (!(e.cause instanceof Error)) return e.message;
  }
  return String(err);
}
