import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // Port methods are async by contract even where an adapter has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain knows nothing of transports or drivers.
    files: ['src/core/**/*.ts', 'src/ports/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            '@dapr/*',
            'express',
            'better-sqlite3',
            'pino',
            '**/adapters/**',
            '**/http/**',
            '**/cli/**',
          ],
        },
      ],
    },
  },
  {
    // Domain tests run on the embedded store: a real KvStore, no mocks.
    files: ['src/core/**/*.test.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/adapters/dapr/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/adapters/embedded/**', 'better-sqlite3'] }],
    },
  },
  {
    files: ['src/adapters/embedded/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/adapters/dapr/**', '@dapr/*'] }] },
  },
  {
    files: ['**/*.test.ts', 'src/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // API tests read answers as untyped JSON and let the assertions check their shape.
    files: ['test/api/**/*.ts', 'test/e2e/**/*.ts', 'src/testing/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  { files: ['eslint.config.js', 'deploy/**/*.mjs', 'bin/**/*.js'], ...tseslint.configs.disableTypeChecked },
);
