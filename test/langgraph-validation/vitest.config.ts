import { defineConfig } from 'vitest/config';

// Its own config, so that this vitest (the major the validation suite needs) does not
// take the project's. The suite calls describe/it as globals, as its README's
// "usage in an existing test suite" expects.
export default defineConfig({
  test: { globals: true, include: ['*.validation.ts'], testTimeout: 30_000, hookTimeout: 60_000 },
});
