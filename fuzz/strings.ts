// Strings a hostile user could put in a free-text field: every Unicode plane, text that
// changes direction, characters that take no space, NULs and control characters, things
// that look like code or markup, and now and then the longest the schema allows.
import fc from 'fast-check';

/** Pieces that have broken text handling elsewhere. */
const ODD_PIECES = [
  '\u202E', // right-to-left override
  '\u202D\u2066\u2069', // left-to-right override, isolates
  'שלום עולם', // Hebrew
  'مرحبا بالعالم', // Arabic
  '\u200B', // zero-width space
  '\u200C\u200D', // zero-width non-joiner and joiner
  '\uFEFF', // byte order mark
  '\u2060\u180E', // word joiner, Mongolian vowel separator
  '👩‍👩‍👧‍👦', // a family: astral characters joined
  '𝕏𝔸𝕄𝕃', // mathematical letters (astral plane)
  '\u{10FFFF}\u{E0001}', // last code point, a language tag
  'e\u0301\u0301\u0301\u0301', // stacked combining marks
  '\u0000', // NUL
  '\u0007\u001B[31m', // bell, terminal colour
  '\r\n\t\v\f',
  '"\'`\\',
  '${jndi:ldap://127.0.0.1/a}',
  '<script>alert(1)</script>',
  '{"a":[1,{"b":null}]}',
  '%s%n%x',
  '__proto__',
  'constructor',
  'null',
  '..\\..\\..\\etc\\passwd',
  ' ',
  '\u00A0\u3000', // no-break and ideographic spaces
  'İı', // Turkish dotted and dotless i (case folding)
  '\uD800', // a lone surrogate: JSON carries it, the API server replaces it
];

export const oddPiece = fc.constantFrom(...ODD_PIECES);

/** `s` repeated up to `length` UTF-16 units: never more characters than that (the API server counts code points). */
export function fill(s: string, length: number): string {
  if (s.length === 0) return 'x'.repeat(length);
  return s.repeat(Math.ceil(length / s.length)).slice(0, length);
}

/**
 * A hostile string of at most `max` characters (at least `min`): mostly short and odd,
 * now and then exactly `max` long. `hugeWeight` tunes how often (out of ~100).
 */
export function oddString(max: number, { min = 0, hugeWeight = 2 }: { min?: number; hugeWeight?: number } = {}): fc.Arbitrary<string> {
  const short = Math.min(max, 48);
  const arb = fc.oneof(
    { weight: 30, arbitrary: fc.string({ unit: 'binary', minLength: min, maxLength: short }) },
    { weight: 30, arbitrary: fc.array(oddPiece, { minLength: 1, maxLength: 6 }).map((p) => p.join('').slice(0, max)) },
    { weight: 20, arbitrary: fc.string({ unit: 'grapheme', minLength: min, maxLength: short }) },
    { weight: hugeWeight, arbitrary: fc.array(oddPiece, { minLength: 1, maxLength: 4 }).map((p) => fill(p.join(''), max)) },
    { weight: hugeWeight, arbitrary: fc.constant(fill('A', max)) },
  );
  return arb.filter((s) => s.length >= min);
}
