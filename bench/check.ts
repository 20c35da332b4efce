// make bench-check: the figures of the last `make bench` (bench/results/*.json) against
// bench/thresholds.yaml. Exits non-zero when one regressed past its threshold, naming the
// figure, its value, the threshold and the command that measures it again.
//
//   node bench/check.ts [--scenario a,b]   (only those scenarios' thresholds)
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readResults, resultsDir } from './results.ts';
import { checkThresholds, parseThresholds } from './thresholds.ts';

const { values } = parseArgs({ options: { scenario: { type: 'string', default: process.env.SCENARIO ?? '' } } });
const only = values.scenario
  ? new Set(
      values.scenario
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
  : undefined;
const thresholds = parseThresholds(readFileSync(path.join(import.meta.dirname, 'thresholds.yaml'), 'utf8'));
const { failures, passed } = checkThresholds(thresholds, readResults(resultsDir()), only);
for (const f of failures) console.error(`FAIL ${f}`);
console.log(
  `${passed} figures within their thresholds, ${failures.length} failures (results in ${path.relative(process.cwd(), resultsDir())})`,
);
if (failures.length) process.exitCode = 1;
