/**
 * The little of the ustar format the Docker runtime needs: a few small files and
 * directories written into a container with putArchive, and one file read back from
 * getArchive. Written by hand because a tar dependency would be larger than this.
 */

const BLOCK = 512;

export type TarEntry =
  { type: 'dir'; path: string; mode: number } | { type: 'file'; path: string; mode: number; content: string | Uint8Array };

export interface TarOptions {
  /** Owner recorded for every entry; the engine applies it when it unpacks. */
  uid?: number;
  gid?: number;
  /** Modification time, seconds since the epoch. */
  mtime?: number;
}

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as tar readers expect.
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, typeflag: '0' | '5', size: number, mode: number, options: TarOptions): Buffer {
  const block = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name longer than 100 bytes: ${name}`);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(options.uid ?? 0, 8), 108, 'ascii');
  block.write(octal(options.gid ?? 0, 8), 116, 'ascii');
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(Math.floor(options.mtime ?? 0), 12), 136, 'ascii');
  block.write(typeflag, 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  // The checksum is computed with its own field read as eight spaces.
  block.write(' '.repeat(8), 148, 'ascii');
  const sum = block.reduce((acc, byte) => acc + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/** A tar archive of `entries`, in order, closed by the two zero blocks. */
export function tarArchive(entries: readonly TarEntry[], options: TarOptions = {}): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    if (entry.type === 'dir') {
      parts.push(header(entry.path.endsWith('/') ? entry.path : `${entry.path}/`, '5', 0, entry.mode, options));
    } else {
      const content = typeof entry.content === 'string' ? Buffer.from(entry.content, 'utf8') : Buffer.from(entry.content);
      parts.push(header(entry.path, '0', content.length, entry.mode, options), content, padding(content.length));
    }
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/**
 * The content of the first regular file in a tar archive (what getArchive of a single
 * file returns), skipping PAX and GNU extension headers; undefined when there is none.
 */
export function firstFileOf(tar: Buffer): Buffer | undefined {
  for (let offset = 0; offset + BLOCK <= tar.length;) {
    const block = tar.subarray(offset, offset + BLOCK);
    if (block.every((byte) => byte === 0)) return undefined;
    const size = parseInt(block.toString('ascii', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    const typeflag = String.fromCharCode(block[156] ?? 0);
    const start = offset + BLOCK;
    if (typeflag === '0' || typeflag === '\0') return tar.subarray(start, start + size);
    offset = start + size + ((BLOCK - (size % BLOCK)) % BLOCK);
  }
  return undefined;
}
