import { defaultClientConditions, defaultServerConditions } from 'vite';
import type { ViteUserConfig } from 'vitest/config';

/**
 * Settings every Vitest project in the workspace shares: workspace packages resolve to their
 * TypeScript sources (the `source` export condition), and a test that asserts nothing fails.
 */
export const shared = {
  resolve: { conditions: ['source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions] } },
  test: {
    expect: { requireAssertions: true },
  },
} satisfies ViteUserConfig;
