// Regression limits for benchmark figures (bench/thresholds.yaml) and the comparison
// `make bench-check` makes against the last results. Pure: text and results in, verdicts out.
import { parse } from 'yaml';
import { z } from 'zod';
import { formatLoad, type Figure, type ScenarioResult } from './results.ts';

const Limit = z
  .object({ max: z.number().optional(), min: z.number().optional() })
  .strict()
  .refine((l) => l.max !== undefined || l.min !== undefined, { message: 'a threshold needs max, min or both' });
export type Limit = z.infer<typeof Limit>;

const ThresholdsSchema = z.record(z.string(), z.record(z.string(), Limit));
/** scenario -> figure id -> limit. */
export type Thresholds = z.infer<typeof ThresholdsSchema>;

export function parseThresholds(yamlText: string): Thresholds {
  const parsed = ThresholdsSchema.safeParse(parse(yamlText) ?? {});
  if (!parsed.success) throw new Error(`bench thresholds: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Undefined when the figure is within its limit, else what is wrong with it. */
export function judge(figure: Figure, limit: Limit): string | undefined {
  const { value, unit } = figure;
  if (!Number.isFinite(value)) return `is ${String(value)} (not measured)`;
  if (limit.max !== undefined && value > limit.max) return `= ${value} ${unit}, above its threshold max ${limit.max} ${unit}`;
  if (limit.min !== undefined && value < limit.min) return `= ${value} ${unit}, below its threshold min ${limit.min} ${unit}`;
  return undefined;
}

export function describeLimit(limit: Limit, unit: string): string {
  return [limit.min !== undefined ? `min ${limit.min} ${unit}` : '', limit.max !== undefined ? `max ${limit.max} ${unit}` : '']
    .filter(Boolean)
    .join(', ');
}

export interface CheckOutcome {
  /** One line per failure, each naming the figure, its value, the threshold and how to reproduce it. */
  failures: string[];
  /** Figures that were within their limits. */
  passed: number;
}

/**
 * Every threshold of the scenarios in `only` (all by default) against the results. A
 * scenario without a result, a figure missing from one, and a scenario that failed are
 * failures too: a regression must not pass by not being measured.
 */
export function checkThresholds(
  thresholds: Thresholds,
  results: ReadonlyMap<string, ScenarioResult>,
  only?: ReadonlySet<string>,
): CheckOutcome {
  const failures: string[] = [];
  let passed = 0;
  for (const [scenario, limits] of Object.entries(thresholds)) {
    if (only && !only.has(scenario)) continue;
    const reproduce = `reproduce: make bench SCENARIO=${scenario}`;
    const result = results.get(scenario);
    if (!result) {
      failures.push(`${scenario}: no result (${reproduce})`);
      continue;
    }
    const when = `measured ${result.startedAt}, load ${formatLoad(result.loadAverage.start)} -> ${formatLoad(result.loadAverage.end)}`;
    if (result.error !== undefined) failures.push(`${scenario}: the scenario failed: ${result.error} (${reproduce})`);
    for (const [id, limit] of Object.entries(limits)) {
      const figure = result.figures[id];
      if (!figure) {
        failures.push(`${scenario}: figure ${id} is missing from the result (${reproduce})`);
        continue;
      }
      const wrong = judge(figure, limit);
      if (wrong === undefined) passed++;
      else failures.push(`${scenario}: ${id} (${figure.label}) ${wrong}; ${when}; ${reproduce}`);
    }
  }
  return { failures, passed };
}
