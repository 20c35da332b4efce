import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.ts';

/** The one root logger: JSON lines on stdout. Components take child loggers from it. */
export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options = { level: config.logLevel, base: { component: 'agent-orchestrator' } };
  return destination ? pino(options, destination) : pino(options);
}
