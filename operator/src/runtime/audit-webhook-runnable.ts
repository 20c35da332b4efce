import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { ConfigError } from '../config/config.ts';
import { AuditWebhook } from './audit-webhook.ts';
import type { Clock } from './clock.ts';
import type { Manager } from './manager.ts';

/** Serves the audit webhook (--audit-webhook-bind-address) on every replica: the Service sends a batch to any. */
export function registerAuditWebhook(manager: Manager, o: { config: Config; logger: Logger; clock: Clock }): void {
  const { config } = o;
  if (config.auditWebhookBindAddress === '0') return;
  const read = (file: string | undefined, setting: string): string | undefined => {
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${setting}: cannot read ${file}: ${(err as Error).message}`);
    }
    if (text === '') throw new ConfigError(`${setting}: ${file} is empty`);
    return text;
  };
  const token = read(config.auditWebhookTokenFile, '--audit-webhook-token-file / AO_AUDIT_WEBHOOK_TOKEN_FILE');
  const cert = read(config.auditWebhookTlsCertFile, '--audit-webhook-tls-cert-file / AO_AUDIT_WEBHOOK_TLS_CERT_FILE');
  const key = read(config.auditWebhookTlsKeyFile, '--audit-webhook-tls-key-file / AO_AUDIT_WEBHOOK_TLS_KEY_FILE');
  const webhook = new AuditWebhook({
    bind: config.auditWebhookBindAddress,
    token,
    tls: cert !== undefined && key !== undefined ? { cert, key } : undefined,
    client: manager.client,
    namespaces: config.watchNamespaces,
    clock: o.clock,
    logger: o.logger,
  });
  manager.addRunnable({ name: 'audit-webhook', leaderOnly: false, run: (signal) => webhook.run(signal) });
}
