import { describe, expect, it } from 'vitest';
import { firstFileOf, tarArchive } from './tar.ts';

const field = (block: Buffer, offset: number, length: number): string =>
  block.toString('utf8', offset, offset + length).replace(/\0.*$/s, '');

describe('tarArchive', () => {
  const archive = tarArchive(
    [
      { type: 'dir', path: 'var/run/agent-orchestrator', mode: 0o700 },
      { type: 'file', path: 'var/run/agent-orchestrator/token', mode: 0o400, content: 'sécret' },
    ],
    { uid: 65532, gid: 65533, mtime: 1_700_000_000 },
  );

  it('writes a ustar header per entry, content padded to 512 bytes, and two zero blocks', () => {
    expect(archive.length).toBe(512 + 512 + 512 + 1024);
    const dir = archive.subarray(0, 512);
    const file = archive.subarray(512, 1024);
    expect(field(dir, 0, 100)).toBe('var/run/agent-orchestrator/');
    expect(String.fromCharCode(dir[156] ?? 0)).toBe('5');
    expect(field(dir, 100, 8)).toBe('0000700');
    expect(field(file, 0, 100)).toBe('var/run/agent-orchestrator/token');
    expect(String.fromCharCode(file[156] ?? 0)).toBe('0');
    expect(field(file, 100, 8)).toBe('0000400');
    expect(parseInt(field(file, 108, 8), 8)).toBe(65532);
    expect(parseInt(field(file, 116, 8), 8)).toBe(65533);
    expect(parseInt(field(file, 124, 12), 8)).toBe(Buffer.byteLength('sécret'));
    expect(parseInt(field(file, 136, 12), 8)).toBe(1_700_000_000);
    expect(file.toString('ascii', 257, 265)).toBe('ustar\u000000');
    expect(archive.subarray(1024, 1024 + 7).toString('utf8')).toBe('sécret');
    expect(archive.subarray(1536).every((b) => b === 0)).toBe(true);
  });

  it('checksums each header as the sum of its bytes with the checksum field read as spaces', () => {
    for (const offset of [0, 512]) {
      const block = Buffer.from(archive.subarray(offset, offset + 512));
      const recorded = parseInt(field(block, 148, 8).trim(), 8);
      block.fill(' ', 148, 156);
      expect(recorded).toBe(block.reduce((sum, b) => sum + b, 0));
    }
  });

  it('refuses a name that does not fit the header', () => {
    expect(() => tarArchive([{ type: 'file', path: 'x'.repeat(101), mode: 0o400, content: '' }])).toThrow('longer than 100 bytes');
  });
});

describe('firstFileOf', () => {
  it('reads the first regular file back, skipping directories', () => {
    const archive = tarArchive([
      { type: 'dir', path: 'etc', mode: 0o755 },
      { type: 'file', path: 'etc/passwd', mode: 0o644, content: 'root:x:0:0::/root:/bin/sh\n' },
      { type: 'file', path: 'etc/group', mode: 0o644, content: 'root:x:0:\n' },
    ]);
    expect(firstFileOf(archive)?.toString()).toBe('root:x:0:0::/root:/bin/sh\n');
  });

  it('is undefined for an archive without files', () => {
    expect(firstFileOf(tarArchive([{ type: 'dir', path: 'etc', mode: 0o755 }]))).toBeUndefined();
    expect(firstFileOf(Buffer.alloc(0))).toBeUndefined();
  });
});
