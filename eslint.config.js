// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// Packages that do I/O or keep global state: the pure layers and plugins stay clear of them.
const IO_PACKAGES = ['@kubernetes/client-node', 'dockerode', 'pino', 'prom-client', 'undici'].map((name) => ({
  name,
  message: 'This layer does no I/O: a host in controllers/ or runtime/ does it.',
}));

export default tseslint.config(
  { ignores: ['dist/', '.bench-base/', 'node_modules/', '.tools/', 'coverage/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/explicit-function-return-type': [
        'error',
        { allowExpressions: true, allowTypedFunctionExpressions: true, allowHigherOrderFunctions: true },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // client-node's models are data-only classes; object literals are its documented usage.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Only operator/src/config reads the environment.' },
      ],
    },
  },
  {
    // The config loader is the one reader of process.env in the operator; tests and
    // dev tooling read it to find the control plane they were handed.
    files: ['operator/src/config/**', 'runner/config.ts', 'test/**', 'e2e/**', 'bench/**', 'chaos/**', 'fuzz/**', 'hack/**', '*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Stub reconcilers and probes are async to match the interfaces they stand in for.
    files: ['test/**', 'e2e/**', '**/*.test.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Importing client-node costs about 85 MB of RSS: the operator and the runner load
    // it only for a kubeconfig that needs it, with `await import` in
    // runtime/rest/kubeconfig/client-node.ts (ADR 0008). operator/src/startup-modules.test.ts
    // checks what start-up loads, indirect imports included.
    files: ['operator/src/**/*.ts', 'runner/**/*.ts'],
    ignores: ['**/*.test.ts', 'operator/src/runtimes/docker/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@kubernetes/client-node',
              allowTypeImports: true,
              message: 'Load it lazily (ADR 0008): runtime/rest/kubeconfig/client-node.ts.',
            },
          ],
          // dockerode comes with the first docker Agent: controllers/agent/docker-agents.ts loads the runtime.
          patterns: [
            {
              regex: 'runtimes/docker/docker-(runtime|client)\\.ts$',
              allowTypeImports: true,
              message: 'Import it lazily, as controllers/agent/docker-agents.ts does.',
            },
          ],
        },
      ],
    },
  },
  // Layering (DESIGN.md section 3): core is pure and imports nothing above it, the
  // framework knows no plugin, plugins see only the framework's public API and the api.
  {
    files: ['operator/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_PACKAGES,
          patterns: [
            {
              regex: '^(\\.\\./)+(framework|controllers|runtime|runtimes|telemetry|config)/',
              message: 'core/ is pure: it imports nothing above it.',
            },
            { regex: '^(\\.\\./)+(plugins|runner)/', message: 'core/ is pure: it imports nothing above it.' },
            { regex: '^node:', message: 'core/ is pure: no I/O, no clock.' },
          ],
        },
      ],
    },
  },
  {
    files: ['operator/src/framework/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_PACKAGES,
          patterns: [
            {
              regex: '^(\\.\\./)+plugins/',
              message: 'The framework knows no plugin by name: main.ts builds the registry and hands it in.',
            },
            {
              regex: '^\\.\\./(controllers|runtime|runtimes|telemetry|config)/',
              message: 'The framework is pure: hosts in controllers/ call it.',
            },
            { regex: '^node:', message: 'The framework is pure: no I/O.' },
          ],
        },
      ],
    },
  },
  {
    files: ['plugins/*/**/*.ts', 'examples/plugins/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: IO_PACKAGES,
          patterns: [
            {
              regex: '^(\\.\\./)+operator/src/(?!framework/(index|testing)\\.ts$|api/)',
              message:
                'A plugin imports only the framework’s public API (framework/index.ts, framework/testing.ts in tests) and the api types.',
            },
            { regex: '^\\.\\./(?!\\.\\.)[^/]+/', message: 'A plugin does not import another plugin: share through the framework.' },
            { regex: '^node:', message: 'A plugin does no I/O of its own: it returns decisions and intents that a host carries out.' },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked] },
);
