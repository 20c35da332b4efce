import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The e2e files are chapters of one story (install, use, upgrade, uninstall): they run
// in name order; the other projects keep vitest's order (slowest first).
class E2eInOrder extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const e2e = files.filter((f) => f.project.name === 'e2e').sort((a, b) => a.moduleId.localeCompare(b.moduleId));
    return [...(await super.sort(files.filter((f) => f.project.name !== 'e2e'))), ...e2e];
  }
}

const UNIT_FLOOR = { lines: 66, statements: 65, functions: 64, branches: 62 };
// Measured 93.4 / 91.6 / 92.8 / 84.7 (2026-12-02); the integration tier's paths vary a
// little with timing (a retry taken or not), so the floor sits 1-1.5 points below.
const COVERED_FLOOR = { lines: 92, statements: 90, functions: 91, branches: 83 };

export default defineConfig({
  test: {
    sequence: { sequencer: E2eInOrder },
    // Two floors, each what its run reaches today, so they can only go up: `npm test` (the
    // unit tier alone) and `npm run test:covered` (make test: the unit, integration and
    // disruptive tiers in one run, the controllers in-process on the real plane).
    coverage: {
      provider: 'v8',
      include: ['operator/src/**/*.ts', 'runner/**/*.ts', 'plugins/**/*.ts'],
      exclude: ['**/*.test.ts'],
      reporter: ['text-summary', ['json-summary', { file: 'coverage-summary.json' }]],
      reportOnFailure: true,
      thresholds: process.env.AO_COVERAGE === 'all' ? COVERED_FLOOR : UNIT_FLOOR,
    },
    projects: [
      {
        test: {
          name: 'unit',
          // Not beside the integration tier when they run together (make test).
          sequence: { groupOrder: 0 },
          // Property tests under coverage on a shared 2-core machine: a deadline, not a speed.
          testTimeout: 30_000,
          include: [
            'operator/**/*.test.ts',
            'runner/**/*.test.ts',
            'plugins/**/*.test.ts',
            'hack/**/*.test.ts',
            'examples/**/*.test.ts',
            'bench/**/*.test.ts',
            'chaos/**/*.test.ts',
            'fuzz/**/*.test.ts',
          ],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          // Brings up (or reuses) the control plane and the Docker engine once per run.
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        // Tests that crash and restart parts of the control plane: they run after the
        // integration project, one file at a time, so nothing else sees the outage.
        test: {
          name: 'disruptive',
          include: ['test/disruptive/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
      {
        // The Helm chart installed and used as a platform team would (e2e/global-setup.ts).
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
