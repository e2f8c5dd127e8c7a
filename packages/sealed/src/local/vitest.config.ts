// TEMPORARY: runs these tests until packages/sealed has its package.json and vitest.config.ts
// (another branch). Delete this file and tsconfig.json here when merging; the package's own
// config (include 'src/**/*.test.ts') then runs them. Dependencies resolve from the workspace
// packages that already have them.
import { fileURLToPath } from 'node:url';
import { defineProject, mergeConfig } from 'vitest/config';
import { shared } from '../../../../vitest.shared.ts';

const from = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default mergeConfig(
  shared,
  defineProject({
    // Only this directory's tests, wherever vitest is started from.
    root: from('.'),
    resolve: {
      alias: {
        yjs: from('../../../../apps/web/node_modules/yjs'),
        'fake-indexeddb': from('../../../../apps/web/node_modules/fake-indexeddb'),
        'fast-check': from('../../../model/node_modules/fast-check'),
      },
    },
    test: { name: 'sealed-local', include: ['**/*.test.ts'], environment: 'node' },
  }),
);
