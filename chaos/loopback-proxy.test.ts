import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LoopbackProxy } from '../test/support/loopback-proxy.ts';

// The network-loss fault cuts a runner off through this proxy: TCP to TCP on loopback.

/** Sends a line through tcp://127.0.0.1:<port>; resolves with the answer, or 'no answer' past the deadline. */
function ask(port: number, line: string, deadlineMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      s.destroy();
      resolve('no answer');
    }, deadlineMs);
    s.once('data', (d) => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString());
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve('refused');
    });
    s.write(line);
  });
}

describe('LoopbackProxy to a TCP port', () => {
  let echo: Server | undefined;
  let proxy: LoopbackProxy | undefined;
  afterEach(async () => {
    await proxy?.cut();
    await new Promise((resolve) => echo?.close(resolve));
  });

  async function echoServer(): Promise<number> {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo?.listen(0, '127.0.0.1', resolve));
    const address = echo.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  it('forwards, hangs (connections accepted, never answered), forwards again on the same port, and refuses when cut', async () => {
    proxy = new LoopbackProxy({ port: await echoServer() });
    const url = await proxy.open();
    expect(url).toBe(`tcp://127.0.0.1:${proxy.listenPort}`);
    expect(await ask(proxy.listenPort, 'one')).toBe('one');
    proxy.hang();
    expect(await ask(proxy.listenPort, 'two', 300)).toBe('no answer');
    expect(await proxy.open()).toBe(url);
    expect(await ask(proxy.listenPort, 'three')).toBe('three');
    await proxy.cut();
    expect(await ask(proxy.listenPort, 'four')).toBe('refused');
  });

  it.each([0, 70000, 1.5])('rejects port %s, naming the field', (port) => {
    expect(() => new LoopbackProxy({ port })).toThrow(/target\.port/);
  });
});
