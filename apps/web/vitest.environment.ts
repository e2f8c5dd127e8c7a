import type { Environment } from 'vitest/environments';

/**
 * Node, but modules are transformed as for the browser: Svelte compiles runes for the client
 * (server-compiled `$effect`s never run) and resolves its browser build. Globals the tests need
 * (IndexedDB) come from test-setup.ts; no DOM emulation is loaded.
 */
export default {
  name: 'client-in-node',
  viteEnvironment: 'client',
  setup() {
    return { teardown() {} };
  },
} satisfies Environment;
