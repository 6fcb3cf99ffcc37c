import { defineConfig } from 'vitest/config';

// The browser walk-through: it starts its own embedded PostgreSQL and demo servers (no global setup).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
