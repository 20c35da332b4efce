// The metric names a PromQL expression reads: what a dashboard or an alert depends on the
// operator to export. Enough PromQL for ours (selectors, functions, aggregations with
// by/without, binary operators, ranges), not a parser.
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/(?<![A-Za-z0-9_:])\d[A-Za-z0-9_.]*/g, ' '); // numbers and durations (5m, 1e3)
  const names = new Set<string>();
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const token = m[0];
    const next = bare.slice(m.index + token.length).trimStart();
    if (next.startsWith('(') || KEYWORDS.has(token.toLowerCase())) continue;
    if (bare[m.index - 1] === '$') continue; // a Grafana variable
    names.add(token);
  }
  return [...names];
}
