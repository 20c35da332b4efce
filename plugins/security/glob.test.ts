import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globSource, globs } from './glob.ts';

describe('globs', () => {
  it.each([
    ['127.0.0.1:5000/*', '127.0.0.1:5000/runner:1', true],
    ['127.0.0.1:5000/*', '127.0.0.1:5000/team/runner:1', false],
    ['127.0.0.1:5000/*', '127.0.0.1:5000.evil/runner', false],
    ['127.0.0.1:5000/*', '127.0.0.1:5000/', true],
    ['ghcr.io/acme/**', 'ghcr.io/acme/a/b/c:1', true],
    ['ghcr.io/acme/**', 'ghcr.io/acme-evil/x', false],
    ['ghcr.io/acme/**', 'ghcr.io/acme', false],
    ['ghcr.io/acme/**', 'xghcr.io/acme/x', false],
    ['kata-?', 'kata-1', true],
    ['kata-?', 'kata-12', false],
    ['kata-?', 'kata-/', false],
    ['a.b', 'axb', false],
    ['(x)|[y]+{1}^$\\', '(x)|[y]+{1}^$\\', true],
    ['**', 'anything/at:all\nreally', true],
    ['*', 'no\rslash', true],
    ['*', 'one/slash', false],
  ])('%s on %j: %s', (pattern, value, match) => {
    expect(globs([pattern])(value)).toBe(match);
  });

  it('matches nothing with no patterns', () => {
    expect(globs([])('x')).toBe(false);
  });

  it('writes `**` before `*`, so a double star is not two single ones', () => {
    expect(globSource('a/**')).toBe('^a/[\\s\\S]*$');
    expect(globSource('a/*')).toBe('^a/[^/]*$');
  });

  it('matches a pattern without wildcards exactly, whatever its characters', () => {
    const literal = fc.string({ unit: 'binary', maxLength: 24 }).filter((s) => !/[*?]/.test(s));
    fc.assert(
      fc.property(literal, literal, (p, other) => {
        expect(globs([p])(p)).toBe(true);
        expect(globs([p])(other)).toBe(other === p);
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });

  it('lets `*` stand for any run without a slash, `**` for any run at all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 16 }), (middle) => {
        expect(globs(['a/**/z'])(`a/${middle}/z`)).toBe(true);
        expect(globs(['a/*/z'])(`a/${middle}/z`)).toBe(!middle.includes('/'));
      }),
      { seed: 20261201, numRuns: 500 },
    );
  });
});
