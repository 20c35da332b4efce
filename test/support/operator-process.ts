import path from 'node:path';
import { inject } from 'vitest';
import { JsonLogProcess } from './json-log-process.ts';

const main = path.resolve(import.meta.dirname, '../../operator/src/main.ts');

/**
 * The operator as users run it: `node operator/src/main.ts` in its own process, talking
 * to the test cluster, with probes and metrics on ephemeral loopback ports.
 */
export class OperatorProcess extends JsonLogProcess {
  constructor(env: Record<string, string>, args: string[] = []) {
    super(main, args, {
      PATH: process.env.PATH ?? '',
      KUBECONFIG: inject('kubeconfig'),
      AO_METRICS_BIND_ADDRESS: '127.0.0.1:0',
      AO_HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0',
      ...env,
    });
  }

  /** Base URL of the server that serves `route` (/readyz, /metrics), from its "serving" log line. */
  async url(route: string): Promise<string> {
    const line = await this.waitForLog(`serving ${route}`, (l) => l.msg === 'serving' && (l.paths as string[]).includes(route));
    return `http://${String(line.address)}${route}`;
  }

  async get(route: string): Promise<{ status: number; body: string }> {
    const res = await fetch(await this.url(route));
    return { status: res.status, body: await res.text() };
  }
}
