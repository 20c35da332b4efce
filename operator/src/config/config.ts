import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * The operator's whole configuration. Every setting has a flag (`--log-level`) and an
 * environment variable (`AO_LOG_LEVEL`); a flag wins over the environment. This module
 * is the only reader of process.env and process.argv in the operator.
 */
export const configSchema = z.object({
  logLevel: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
    .default('info')
    .describe('minimum level of log lines written to stdout'),
});

export type Config = z.infer<typeof configSchema>;

interface Setting {
  readonly key: keyof Config;
  readonly flag: string;
  readonly env: string;
}

const settings: readonly Setting[] = [{ key: 'logLevel', flag: 'log-level', env: 'AO_LOG_LEVEL' }];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses flags and environment into a Config, or throws a ConfigError naming the setting to fix. */
export function parseConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Config {
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: [...argv],
      options: Object.fromEntries(settings.map((s) => [s.flag, { type: 'string' }])),
      strict: true,
    }).values;
  } catch (err) {
    const known = settings.map((s) => `--${s.flag}`).join(', ');
    throw new ConfigError(`${(err as Error).message}; known flags: ${known}`);
  }
  const raw: Record<string, unknown> = {};
  for (const s of settings) {
    const value = flags[s.flag] ?? env[s.env];
    if (value !== undefined && value !== '') raw[s.key] = value;
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const s = settings.find((x) => x.key === issue.path[0]);
      const where = s ? `--${s.flag} / ${s.env}` : issue.path.join('.');
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** The Config of this process, from its command line and environment. */
export function loadConfig(): Config {
  return parseConfig(process.argv.slice(2), process.env);
}
