import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.ts';

const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

describe('parseConfig', () => {
  it.each([
    { name: 'defaults', argv: [], env: {}, logLevel: 'info' },
    { name: 'environment', argv: [], env: { AO_LOG_LEVEL: 'debug' }, logLevel: 'debug' },
    { name: 'flag', argv: ['--log-level', 'warn'], env: {}, logLevel: 'warn' },
    { name: 'flag with =', argv: ['--log-level=error'], env: {}, logLevel: 'error' },
    { name: 'flag beats environment', argv: ['--log-level=trace'], env: { AO_LOG_LEVEL: 'fatal' }, logLevel: 'trace' },
    { name: 'empty environment value means unset', argv: [], env: { AO_LOG_LEVEL: '' }, logLevel: 'info' },
  ])('$name', ({ argv, env, logLevel }) => {
    expect(parseConfig(argv, env)).toEqual({ logLevel });
  });

  it('names the flag, the variable and the allowed values for a bad level', () => {
    expect(() => parseConfig([], { AO_LOG_LEVEL: 'verbose' })).toThrow(ConfigError);
    expect(() => parseConfig([], { AO_LOG_LEVEL: 'verbose' })).toThrow(
      /--log-level \/ AO_LOG_LEVEL: .*"trace".*"fatal"/,
    );
  });

  it('lists the known flags when given an unknown one', () => {
    expect(() => parseConfig(['--log-levle=info'], {})).toThrow(/--log-levle.*known flags: --log-level/);
  });

  it('a valid flag always wins over any environment value', () => {
    fc.assert(
      fc.property(fc.constantFrom(...levels), fc.option(fc.string()), (flag, env) => {
        const config = parseConfig([`--log-level=${flag}`], env === null ? {} : { AO_LOG_LEVEL: env });
        expect(config.logLevel).toBe(flag);
      }),
    );
  });

  it('rejects every level outside the allowed set', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !(levels as readonly string[]).includes(s)),
        (level) => {
          expect(() => parseConfig([], { AO_LOG_LEVEL: level })).toThrow(/AO_LOG_LEVEL/);
        },
      ),
    );
  });
});
