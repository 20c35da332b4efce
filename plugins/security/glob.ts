// The image, RuntimeClass, Secret and engine patterns of the security policy. The chart
// turns the same patterns into the same regular expressions for its
// ValidatingAdmissionPolicy (templates/_security.tpl: regexQuoteMeta, then the same three
// replacements), so the operator and the API server judge an Agent alike.

// Go's regexp.QuoteMeta escapes exactly these; the chart quotes with it.
const META = /[\\.+*?()|[\]{}^$]/g;

/**
 * The RE2 (and JavaScript) source of a pattern: `**` any run of characters, `*` any run
 * without '/', `?` one character but '/'; the rest literal, the whole string matched.
 * `[\s\S]` rather than `.`: JavaScript's `.` skips \r and the line separators, RE2's only \n.
 */
export function globSource(pattern: string): string {
  const quoted = pattern.replace(META, '\\$&');
  return `^${quoted.replaceAll('\\*\\*', '[\\s\\S]*').replaceAll('\\*', '[^/]*').replaceAll('\\?', '[^/]')}$`;
}

/** A matcher for a list of patterns: true when any matches the whole of `value`. */
export function globs(patterns: readonly string[]): (value: string) => boolean {
  const res = patterns.map((p) => new RegExp(globSource(p)));
  return (value) => res.some((re) => re.test(value));
}
