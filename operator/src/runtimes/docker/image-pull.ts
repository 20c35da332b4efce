/**
 * Reads a pull's progress stream (newline-separated JSON) to its end. The engine
 * answers 200 and then reports a failed pull inside the stream, as {"error": "..."},
 * so the stream must be read through before the image can be trusted to exist.
 * Resolves when the pull succeeded; rejects with the engine's message otherwise.
 */
export async function followPull(stream: AsyncIterable<Buffer | string>): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  let failure: string | undefined;
  const consume = (line: string): void => {
    if (line.trim() === '' || failure !== undefined) return;
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return; // not progress JSON: nothing to learn from it
    }
    if (typeof event === 'object' && event !== null && 'error' in event) {
      const detail = 'errorDetail' in event ? (event.errorDetail as { message?: unknown } | null)?.message : undefined;
      failure = typeof event.error === 'string' && event.error !== '' ? event.error : typeof detail === 'string' ? detail : 'unknown error';
    }
  };
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    lines.forEach(consume);
  }
  consume(pending + decoder.decode());
  if (failure !== undefined) throw new Error(failure);
}
