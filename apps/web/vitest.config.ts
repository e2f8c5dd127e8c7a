import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineProject, mergeConfig } from 'vitest/config';
import { shared } from '../../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineProject({
    plugins: [svelte()],
    // Svelte resolves to its browser build, as in the app.
    resolve: { conditions: ['browser'] },
    test: {
      name: 'web',
      include: ['src/**/*.test.ts'],
      environment: './vitest.environment.ts',
      setupFiles: ['./src/test-setup.ts'],
    },
  }),
);
