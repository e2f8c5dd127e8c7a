import { defineConfig } from 'vitest/config';

// One Vitest run for the whole workspace. Each project keeps its own config beside its code;
// what every project shares (source conditions, requireAssertions) lives in vitest.shared.ts.
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'server/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'tests/vitest.config.ts',
    ],
  },
});
