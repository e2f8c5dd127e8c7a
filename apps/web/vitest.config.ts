import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineProject, mergeConfig } from 'vitest/config';
import { shared } from '../../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineProject({
    plugins: [svelte()],
    // Runes in `*.svelte.ts` compile for the browser build of Svelte, as they do in the app.
    resolve: { conditions: ['browser'] },
    test: {
      name: 'web',
      include: ['src/**/*.test.ts'],
      environment: 'node',
      setupFiles: ['./src/test-setup.ts'],
    },
  }),
);
