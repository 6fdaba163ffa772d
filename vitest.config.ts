import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Media tests are timing-sensitive and each one runs real workers, ffmpeg and Chromium:
    // two cores do not take more than two files at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    // Polls wait for pages and services that share two busy cores: vitest's 1 s default is too short.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
