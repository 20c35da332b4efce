import * as http from 'node:http';
import * as https from 'node:https';

/**
 * One HTTP(S) request over Node's own modules, resolved with the response headers. A GET
 * whose kept-alive connection the server closed just as it was reused is sent again once,
 * on a new connection (as Node's docs and Go's transport do); a write is not, since the
 * server may have acted on it. Undici is not used: it cost the runner 15-30 MB (ADR 0003).
 */
export function exchange(url: URL, options: https.RequestOptions, body?: Buffer | string, retry = true): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, options);
    request.once('response', resolve);
    request.once('error', (err: NodeJS.ErrnoException) => {
      if (retry && options.method === 'GET' && request.reusedSocket && err.code === 'ECONNRESET')
        resolve(exchange(url, options, body, false));
      else reject(err);
    });
    request.end(body);
  });
}

/** The body as text; past `max` bytes the rest is read and discarded. */
export async function bodyText(response: http.IncomingMessage, max = Infinity): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    if (size < max) chunks.push(size + chunk.length <= max ? chunk : chunk.subarray(0, max - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
