import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere in seconds; `integration` starts real daprd,
// Redis, PostgreSQL and Azurite on loopback ports (see src/testing/harness).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
          typecheck: { enabled: false },
          // Some unit tests run the CLI or the worker as a child process, which takes
          // seconds of start-up on a busy 2-core machine; the 5 s default is too tight.
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['src/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          globalSetup: ['src/testing/harness/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 180_000,
          // Each file starts its own servers; two cores do not gain from more.
          maxWorkers: 2,
        },
      },
    ],
  },
});
