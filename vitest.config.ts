import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One Vitest run for the whole workspace. Each project keeps its own config beside its code;
// what every project shares (source conditions, requireAssertions) lives in vitest.shared.ts.
export default defineConfig({
  test: {
    // Vitest's default is one worker fewer than cores: one on a 2-core CI machine, where the
    // files ran one at a time and the machine sat idle between them (115 of 422 s). Most
    // integration files wait on servers and timers, so three share two cores well.
    maxWorkers: Math.max(3, availableParallelism() - 1),
    projects: [
      'packages/*/vitest.config.ts',
      'server/vitest.config.ts',
      'apps/*/vitest.config.ts',
      'tests/vitest.config.ts',
    ],
  },
});
