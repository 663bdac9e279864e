import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Generous: a new embedded PostgreSQL takes seconds to create, and much longer on a busy machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Each file gets its own database; two workers match the two cores we have.
    maxWorkers: 2,
  },
});
