import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    // A static single-page app: the Mend server serves `build/` and answers every other path with
    // `200.html` (docs/api.md, The web app). Nothing private is ever rendered on a server.
    adapter: adapter({ pages: 'build', assets: 'build', fallback: '200.html', strict: true }),
    serviceWorker: { register: true },
    version: { pollInterval: 0 },
  },
};

export default config;
