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

export default defineConfig({
  test: {
    sequence: { sequencer: E2eInOrder },
    // `npm test` (the unit tier) measures it; the floor is what that tier reaches today, so
    // it can only go up. The integration tier (controllers on the real plane) is not merged in.
    coverage: {
      provider: 'v8',
      include: ['operator/src/**/*.ts', 'runner/**/*.ts', 'plugins/**/*.ts'],
      exclude: ['**/*.test.ts'],
      reporter: ['text-summary'],
      thresholds: { lines: 63, statements: 62, functions: 61, branches: 60 },
    },
    projects: [
      {
        test: {
          name: 'unit',
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
          sequence: { groupOrder: 0 },
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
          sequence: { groupOrder: 1 },
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
