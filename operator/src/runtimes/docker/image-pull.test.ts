import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { followPull } from './image-pull.ts';

const stream = (...chunks: string[]): Readable => Readable.from(chunks.map((c) => Buffer.from(c)));

describe('followPull', () => {
  it('resolves when the progress stream ends without an error', async () => {
    await expect(
      followPull(stream('{"status":"Pulling from library/x"}\n{"status":"Downl', 'oading","progress":"[=> ]"}\n', '{"status":"Done"}')),
    ).resolves.toBeUndefined();
  });

  it('rejects with the error the engine reported inside the stream', async () => {
    await expect(
      followPull(stream('{"status":"Pulling"}\n', '{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n')),
    ).rejects.toThrow('manifest unknown');
    await expect(followPull(stream('{"errorDetail":{"message":"only detail"},"error":""}'))).rejects.toThrow('only detail');
  });

  it('ignores lines that are not JSON', async () => {
    await expect(followPull(stream('not json\n\n{"status":"ok"}\n'))).resolves.toBeUndefined();
  });

  it('keeps a character split across chunks whole', async () => {
    const bytes = Buffer.from('{"error":"é"}\n');
    const split = bytes.indexOf(0xa9);
    const chunks = Readable.from([bytes.subarray(0, split), bytes.subarray(split)]);
    await expect(followPull(chunks)).rejects.toThrow(/^é$/);
  });
});
