import { defineProject, mergeConfig } from 'vitest/config';
import { shared } from '../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: 'integration',
      // repo/: checks of the repository itself (docs links, the test command's summary).
      include: ['integration/**/*.test.ts', 'repo/**/*.test.ts'],
      environment: 'node',
      testTimeout: 30_000,
      hookTimeout: 30_000,
    },
  }),
);
