import { defaultClientConditions, defaultServerConditions } from 'vite';
import type { ViteUserConfig } from 'vitest/config';

/**
 * Settings every Vitest project in the workspace shares: workspace packages resolve to their
 * TypeScript sources (the `source` export condition), a test that asserts nothing fails, and
 * one timeout for a hang.
 */
export const shared = {
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    expect: { requireAssertions: true },
    // A timeout catches a hang; it is not a measure (benchmarks are). Vitest's 5 s assumes a
    // core per file: here three files share two cores, and a property test that takes 3 s
    // alone took over 5 under CI's load.
    testTimeout: 30_000,
  },
} satisfies ViteUserConfig;
