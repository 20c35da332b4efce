import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART } from './files.ts';
import { chartValues } from './values.ts';

const root = path.resolve(import.meta.dirname, '../..');
const valuesYaml = parse(readFileSync(path.join(root, CHART, 'values.yaml'), 'utf8')) as unknown;

describe('the chart values', () => {
  it('values.yaml holds exactly the schema’s defaults (a key in one and not the other fails)', () => {
    expect(valuesYaml).toEqual(chartValues.parse({}));
  });

  it('refuses what Helm refuses, naming the value', () => {
    const issues = (v: unknown): string[] => chartValues.safeParse(v).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues({ replicas: 'two' })).toEqual(['replicas: Invalid input: expected number, received string']);
    expect(issues({ logging: { formt: 'json' } })[0]).toMatch(/^logging: Unrecognized key: "formt"/);
    expect(issues({ replicas: 2, leaderElection: { enabled: false } })).toEqual([
      'leaderElection.enabled: leaderElection.enabled must be true when replicas > 1',
    ]);
    expect(issues({ replicas: 2 })).toEqual([]);
  });
});
