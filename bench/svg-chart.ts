// Line charts as standalone SVG text, for the benchmark report (latency CDFs, rates and
// memory over time). Pure and dependency-free: a chart is data in a result file, and the
// same data always draws the same bytes, so a report can be redrawn without a cluster.
// It grew out of the hand-drawn scale-up curve of bench/autoscaling.ts (two y axes).

export type Point = readonly [number, number];

export interface Series {
  name: string;
  points: readonly Point[];
  /** Plotted against the right axis (`y2`); the left one by default. */
  axis?: 'left' | 'right';
  dashed?: boolean;
}

export interface Axis {
  label: string;
  /** Bounds; by default 0 (1 on a log axis) to the largest value. */
  min?: number;
  max?: number;
  log?: boolean;
}

export interface ChartSpec {
  title: string;
  x: Axis;
  y: Axis;
  y2?: Axis;
  series: readonly Series[];
}

const WIDTH = 720;
const HEIGHT = 360;
// Colour-blind-safe (Okabe-Ito); a series past the eighth reuses a colour, dashed.
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}

/** A short label for an axis value: 1500 -> 1.5k, 0.25 -> 0.25. */
export function formatTick(v: number): string {
  const abs = Math.abs(v);
  const trim = (s: string): string => s.replace(/\.0+$|(\.\d*?)0+$/, '$1');
  if (abs >= 1e6) return `${trim((v / 1e6).toFixed(1))}M`;
  if (abs >= 1e3) return `${trim((v / 1e3).toFixed(1))}k`;
  if (abs === 0 || abs >= 1) return trim(v.toFixed(1));
  return trim(v.toPrecision(2));
}

/** Round tick values (1, 2 or 5 times a power of ten) from min up to the first at or past max. */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  let v = Math.ceil(min / step) * step;
  for (; v < max - step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(min)); 10 ** e <= max * (1 + 1e-9); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9)) ticks.push(Number(v.toPrecision(12)));
    }
  }
  return ticks;
}

interface Scale {
  at: (v: number) => number;
  ticks: number[];
}

function scale(axis: Axis, values: readonly number[], from: number, to: number): Scale {
  const positive = values.filter((v) => v > 0);
  if (axis.log) {
    const min = axis.min ?? Math.max(1e-9, Math.min(...positive, 1));
    const max = axis.max ?? Math.max(min * 10, ...positive);
    const span = Math.log10(max) - Math.log10(min);
    return { at: (v) => from + ((Math.log10(Math.max(v, min)) - Math.log10(min)) / span) * (to - from), ticks: logTicks(min, max) };
  }
  const min = axis.min ?? 0;
  const ticks = niceTicks(min, axis.max ?? Math.max(min + 1, ...values));
  // Without a fixed bound the axis ends on its last tick, a round value past every point.
  const top = axis.max ?? ticks.at(-1) ?? min + 1;
  return { at: (v) => from + ((v - min) / (top - min)) * (to - from), ticks: ticks.filter((t) => t <= top) };
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="11" font-family="sans-serif" fill="#333"${attrs ? ` ${attrs}` : ''}>${escapeXml(s)}</text>`;
}

/** A line chart: one polyline per series, ticks on every axis, a legend in the top left. */
export function lineChart(spec: ChartSpec): string {
  const finite = (p: Point): boolean => Number.isFinite(p[0]) && Number.isFinite(p[1]);
  const series = spec.series.map((s) => ({ ...s, points: s.points.filter(finite) }));
  const m = { l: 62, r: spec.y2 ? 62 : 24, t: 34, b: 46 };
  const on = (axis: 'left' | 'right'): number[] =>
    series.filter((s) => (s.axis ?? 'left') === axis).flatMap((s) => s.points.map((p) => p[1]));
  const x = scale(
    spec.x,
    series.flatMap((s) => s.points.map((p) => p[0])),
    m.l,
    WIDTH - m.r,
  );
  const y = scale(spec.y, on('left'), HEIGHT - m.b, m.t);
  const y2 = spec.y2 ? scale(spec.y2, on('right'), HEIGHT - m.b, m.t) : undefined;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    text(WIDTH / 2, 18, spec.title, 'text-anchor="middle" font-weight="bold"'),
  ];
  for (const t of x.ticks) {
    const px = x.at(t);
    out.push(`<line x1="${px.toFixed(1)}" y1="${m.t}" x2="${px.toFixed(1)}" y2="${HEIGHT - m.b}" stroke="#eee"/>`);
    out.push(text(px, HEIGHT - m.b + 14, formatTick(t), 'text-anchor="middle"'));
  }
  for (const t of y.ticks) {
    const py = y.at(t);
    out.push(`<line x1="${m.l}" y1="${py.toFixed(1)}" x2="${WIDTH - m.r}" y2="${py.toFixed(1)}" stroke="#eee"/>`);
    out.push(text(m.l - 6, py + 4, formatTick(t), 'text-anchor="end"'));
  }
  for (const t of y2?.ticks ?? []) out.push(text(WIDTH - m.r + 6, (y2?.at(t) ?? 0) + 4, formatTick(t)));
  out.push(`<line x1="${m.l}" y1="${HEIGHT - m.b}" x2="${WIDTH - m.r}" y2="${HEIGHT - m.b}" stroke="#999"/>`);
  out.push(`<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${HEIGHT - m.b}" stroke="#999"/>`);
  out.push(text((m.l + WIDTH - m.r) / 2, HEIGHT - 10, spec.x.label, 'text-anchor="middle"'));
  out.push(
    text(
      14,
      (m.t + HEIGHT - m.b) / 2,
      spec.y.label,
      `text-anchor="middle" transform="rotate(-90 14 ${((m.t + HEIGHT - m.b) / 2).toFixed(1)})"`,
    ),
  );
  if (spec.y2)
    out.push(
      text(
        WIDTH - 12,
        (m.t + HEIGHT - m.b) / 2,
        spec.y2.label,
        `text-anchor="middle" transform="rotate(90 ${WIDTH - 12} ${((m.t + HEIGHT - m.b) / 2).toFixed(1)})"`,
      ),
    );
  // The legend sits over the plot: a light backing keeps it readable over the lines.
  const legendWidth = 40 + 6.5 * Math.max(0, ...series.map((s) => s.name.length + (s.axis === 'right' ? 14 : 0)));
  if (series.length)
    out.push(
      `<rect x="${m.l + 4}" y="${m.t + 1}" width="${legendWidth.toFixed(0)}" height="${series.length * 15 + 4}" fill="white" fill-opacity="0.85"/>`,
    );
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length] ?? '#000';
    const dash = s.dashed === true || i >= COLOURS.length ? ' stroke-dasharray="6 3"' : '';
    const ys = s.axis === 'right' && y2 ? y2 : y;
    const points = s.points.map((p) => `${x.at(p[0]).toFixed(1)},${ys.at(p[1]).toFixed(1)}`).join(' ');
    out.push(`<polyline data-series="${escapeXml(s.name)}" fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points}"/>`);
    const ly = m.t + 12 + i * 15;
    out.push(`<line x1="${m.l + 10}" y1="${ly - 4}" x2="${m.l + 30}" y2="${ly - 4}" stroke="${colour}" stroke-width="2"${dash}/>`);
    out.push(text(m.l + 36, ly, s.name + (s.axis === 'right' ? ' (right axis)' : '')));
  });
  if (series.every((s) => s.points.length === 0)) out.push(text(WIDTH / 2, HEIGHT / 2, 'no data', 'text-anchor="middle"'));
  out.push('</svg>', '');
  return out.join('\n');
}

/** A latency CDF: the fraction of items (y, 0-1) done within a time (x). */
export function cdfChart(
  title: string,
  xLabel: string,
  series: readonly { name: string; points: readonly Point[] }[],
  log = false,
): ChartSpec {
  return { title, x: { label: xLabel, log }, y: { label: 'fraction of items', min: 0, max: 1 }, series };
}
