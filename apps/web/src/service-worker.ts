/// <reference types="@sveltejs/kit" />
/// <reference no-default-lib="true"/>
/// <reference lib="esnext" />
/// <reference lib="webworker" />
import { build, files, version } from '$service-worker';

/**
 * Keeps the app shell on the device, so Mend opens with no network: the space itself then comes
 * from IndexedDB. Only the app's own files are cached; the API and the sync socket never are.
 */
const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `mend-shell-${version}`;
/** The SPA fallback page the server answers every page path with (docs/api.md, The web app). */
const SHELL = '/200.html';
const ASSETS = new Set([...build, ...files, SHELL]);
/** A page request slower than this while a shell is cached is answered from the cache. */
const NAVIGATION_TIMEOUT_MS = 4000;

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...ASSETS]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (isServerPath(url.pathname)) return;

  if (request.mode === 'navigate') {
    event.respondWith(navigation(request));
    return;
  }
  if (ASSETS.has(url.pathname)) {
    event.respondWith(
      caches
        .open(CACHE)
        .then((cache) => cache.match(url.pathname))
        .then((cached) => cached ?? fetch(request)),
    );
  }
});

function isServerPath(pathname: string): boolean {
  return (
    pathname.startsWith('/api/') ||
    pathname.startsWith('/sync/') ||
    pathname === '/healthz' ||
    pathname === '/metrics'
  );
}

/**
 * Network first, so a new version of Mend arrives as soon as it is deployed; the cached shell
 * when the network fails or hangs, so the space still opens at night with no signal.
 */
async function navigation(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  const shell = await cache.match(SHELL);
  if (!shell) return fetch(request);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const fallback = new Promise<Response>((resolve) => {
    timer = setTimeout(() => resolve(shell.clone()), NAVIGATION_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fetch(request), fallback]);
  } catch {
    return shell;
  } finally {
    clearTimeout(timer);
  }
}
