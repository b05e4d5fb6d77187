import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/fuzz-seed.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Proxy tests bind real ports and spawn real processes: keep files isolated.
    pool: 'forks',
  },
});
