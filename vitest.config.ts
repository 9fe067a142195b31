import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tb/**/*.test.ts'],
    setupFiles: ['tb/lib/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Two cores here and in CI: forks keep a crash in one file from taking the rest down.
    pool: 'forks',
  },
});
