/**
 * A container's log as one text, stdout and stderr interleaved as they were written.
 * Without a TTY the engine multiplexes the streams in frames: an 8-byte header (stream
 * id 0-2, three zero bytes, big-endian length) and the payload. A buffer that does not
 * look framed (a TTY container) is returned as it is.
 */
export function logText(buf: Buffer): string {
  const payloads: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length) {
    const stream = buf[offset] ?? 255;
    if (stream > 2 || buf[offset + 1] !== 0 || buf[offset + 2] !== 0 || buf[offset + 3] !== 0) {
      return buf.toString('utf8');
    }
    const length = buf.readUInt32BE(offset + 4);
    payloads.push(buf.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  return Buffer.concat(payloads).toString('utf8');
}

/**
 * The end of `text` in at most `maxBytes` bytes of UTF-8, from the start of a line when
 * one begins in that window (a cut line reads as a different message), trailing newline
 * dropped.
 */
export function tailOf(text: string, maxBytes: number): string {
  const trimmed = text.replace(/\n+$/, '');
  const bytes = Buffer.from(trimmed, 'utf8');
  if (bytes.length <= maxBytes) return trimmed;
  if (maxBytes <= 0) return '';
  let start = bytes.length - maxBytes;
  // Step over UTF-8 continuation bytes so no character is cut in half.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start++;
  const window = bytes.subarray(start).toString('utf8');
  const newline = window.indexOf('\n');
  return newline >= 0 && newline < window.length - 1 ? window.slice(newline + 1) : window;
}
