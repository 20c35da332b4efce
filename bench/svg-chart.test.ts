import { describe, expect, it } from 'vitest';
import { cdfChart, escapeXml, formatTick, lineChart, niceTicks, type ChartSpec } from './svg-chart.ts';

/**
 * Well-formed XML, checked by hand (no parser in the dependencies): one root, tags that
 * nest and close, quoted attributes without a raw '<' or '&', text without either.
 */
function wellFormedXml(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (let m = token.exec(xml); m !== null; m = token.exec(xml)) {
    const [, closing, name, attrs, selfClosing, text, stray] = m;
    if (stray !== undefined) problems.push(`a '<' that opens no tag at ${m.index}`);
    else if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) problems.push(`an unescaped '&' in text at ${m.index}`);
      if (stack.length === 0 && text.trim()) problems.push(`text outside the root at ${m.index}`);
    } else if (closing) {
      if (stack.pop() !== name) problems.push(`</${name ?? ''}> closes nothing open at ${m.index}`);
    } else {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(attrs ?? '')) problems.push(`an unescaped '&' in an attribute of <${name ?? ''}>`);
      if (stack.length === 0) roots++;
      if (!selfClosing) stack.push(name ?? '');
    }
  }
  if (stack.length) problems.push(`unclosed: ${stack.join(', ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}

const polylines = (svg: string): { series: string; points: [number, number][] }[] =>
  [...svg.matchAll(/<polyline data-series="([^"]*)"[^>]* points="([^"]*)"/g)].map((m) => ({
    series: m[1] ?? '',
    points: (m[2] ?? '')
      .split(' ')
      .filter(Boolean)
      .map((p) => p.split(',').map(Number) as [number, number]),
  }));

describe('the well-formedness check itself', () => {
  it.each([
    ['<svg><g></svg>', 'closes nothing'],
    ['<svg>a & b</svg>', "unescaped '&'"],
    ['<svg></svg><svg></svg>', '2 root elements'],
    ['<svg><text>1 < 2</text></svg>', "'<' that opens no tag"],
  ])('rejects %s', (xml, problem) => {
    expect(wellFormedXml(xml).join('; ')).toContain(problem);
  });
});

describe('lineChart', () => {
  const spec: ChartSpec = {
    title: 'Tasks & Pods <placed>',
    x: { label: 'seconds' },
    y: { label: 'per second' },
    y2: { label: 'waiting' },
    series: [
      {
        name: 'operator "router"',
        points: [
          [0, 0],
          [1, 50],
          [2, 100],
        ],
      },
      {
        name: 'kube-scheduler',
        points: [
          [0, 10],
          [1, 20],
          [2, NaN],
          [3, 30],
        ],
        dashed: true,
      },
      {
        name: 'waiting',
        points: [
          [0, 1000],
          [3, 0],
        ],
        axis: 'right',
      },
    ],
  };
  const svg = lineChart(spec);

  it('is well-formed XML with an svg root', () => {
    expect(wellFormedXml(svg)).toEqual([]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  });

  it('draws one polyline per series, named, with every finite point', () => {
    const lines = polylines(svg);
    expect(lines.map((l) => l.series)).toEqual(['operator &quot;router&quot;', 'kube-scheduler', 'waiting']);
    expect(lines.map((l) => l.points.length)).toEqual([3, 3, 2]);
    for (const l of lines) for (const [x, y] of l.points) expect(Number.isFinite(x) && Number.isFinite(y)).toBe(true);
  });

  it('places points by value: later is further right, higher is further up (smaller y)', () => {
    const [operator] = polylines(svg);
    const [p0, p1, p2] = operator?.points ?? [];
    expect(p1?.[0]).toBeGreaterThan(p0?.[0] ?? Infinity);
    expect(p2?.[0]).toBeGreaterThan(p1?.[0] ?? Infinity);
    expect(p2?.[1]).toBeLessThan(p1?.[1] ?? -Infinity);
    expect(p1?.[1]).toBeLessThan(p0?.[1] ?? -Infinity);
  });

  it('escapes the title and names, and labels both axes and the legend', () => {
    expect(svg).toContain('Tasks &amp; Pods &lt;placed&gt;');
    for (const label of ['seconds', 'per second', 'waiting (right axis)', 'kube-scheduler']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).toContain('stroke-dasharray');
  });

  it('draws the same bytes from the same data', () => {
    expect(lineChart(spec)).toBe(svg);
  });

  it('says so when there is nothing to draw, and stays well-formed', () => {
    const empty = lineChart({ title: 'none', x: { label: 'x' }, y: { label: 'y' }, series: [{ name: 'a', points: [] }] });
    expect(wellFormedXml(empty)).toEqual([]);
    expect(empty).toContain('>no data</text>');
  });

  it('draws a CDF on a log axis between 0 and 1', () => {
    const chart = cdfChart(
      'latency',
      'ms',
      [
        {
          name: 'op',
          points: [
            [5, 0.5],
            [50, 0.9],
            [5000, 1],
          ],
        },
      ],
      true,
    );
    const out = lineChart(chart);
    expect(wellFormedXml(out)).toEqual([]);
    const [line] = polylines(out);
    const xs = line?.points.map((p) => p[0]) ?? [];
    // On a log axis 5 -> 50 spans the same width as 50 -> 500; 500 -> 5000 again.
    expect((xs[2] ?? 0) - (xs[1] ?? 0)).toBeCloseTo(2 * ((xs[1] ?? 0) - (xs[0] ?? 0)), 0);
    for (const tick of ['10', '100', '1k']) expect(out).toContain(`>${tick}</text>`);
  });
});

describe('axis helpers', () => {
  it.each([
    [0, 97, [0, 20, 40, 60, 80, 100]],
    [0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1]],
    [0, 12_000, [0, 5000, 10_000, 15_000]],
    [0, 20, [0, 5, 10, 15, 20]],
  ])('niceTicks(%d, %d)', (min, max, ticks) => {
    expect(niceTicks(min, max)).toEqual(ticks);
  });

  it.each([
    [0, '0'],
    [1500, '1.5k'],
    [2000, '2k'],
    [0.25, '0.25'],
    [12.5, '12.5'],
    [3_000_000, '3M'],
  ])('formatTick(%d) = %s', (v, s) => {
    expect(formatTick(v)).toBe(s);
  });

  it('escapes the five XML specials', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
