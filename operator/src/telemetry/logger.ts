import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { textDestination } from './text-format.ts';

/** The one root logger: JSON lines on stdout (or text lines). Components take child loggers from it. */
export function createLogger(config: Pick<Config, 'logLevel' | 'logFormat'>, destination?: pino.DestinationStream): Logger {
  const options = { level: config.logLevel, base: { component: 'agent-orchestrator' } };
  if (destination) return pino(options, destination);
  return config.logFormat === 'text' ? pino(options, textDestination(process.stdout)) : pino(options);
}
