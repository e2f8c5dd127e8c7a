import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mend</title></head>
<body><h1>Mend is running</h1><p>The web app has not been built yet.
Run <code>pnpm --filter @mend/web build</code>, then reload this page.</p></body></html>
`;

/**
 * The built web app (SvelteKit adapter-static output). Files are looked up per request so a
 * rebuild is picked up. SvelteKit's bootstrap script is inline and 'unsafe-inline' is never
 * allowed, so each HTML page is served with a CSP carrying the hashes of its own inline scripts,
 * recomputed when the file's size or modification time changes: a rebuilt app works without a
 * restart instead of showing a blank page.
 */
export class StaticSite {
  readonly #root: string;
  #built: boolean;
  #csp: string;
  readonly #pageCsp = new Map<string, { mtimeMs: number; size: number; csp: string }>();

  constructor(root: string) {
    this.#root = path.resolve(root);
    this.#built = existsSync(this.#root);
    this.#csp = buildCsp(this.#built ? inlineScriptHashes(this.#root) : []);
  }

  /** The Content-Security-Policy for every response that is not an HTML page. */
  get csp(): string {
    return this.#csp;
  }

  /** Serves a GET or HEAD for a path outside /api, /sync, /healthz and /metrics. */
  async serve(pathname: string, res: ServerResponse, headOnly: boolean): Promise<void> {
    if (!this.#built && existsSync(this.#root)) {
      // Built after we started: pick up its inline script hashes now.
      this.#built = true;
      this.#csp = buildCsp(inlineScriptHashes(this.#root));
      res.setHeader('Content-Security-Policy', this.#csp);
    }
    if (!this.#built) {
      send(res, 503, 'text/html; charset=utf-8', 'no-cache', NOT_BUILT_PAGE, headOnly);
      return;
    }
    const file = this.#resolve(pathname) ?? this.#fallback();
    if (!file) {
      send(res, 503, 'text/html; charset=utf-8', 'no-cache', NOT_BUILT_PAGE, headOnly);
      return;
    }
    // Stat before reading: if a rebuild lands in between, the new body's hashes are cached
    // under the old stats, which no longer match the file, so the next request hashes again.
    const stats = await stat(file);
    const body = await readFile(file);
    const ext = path.extname(file).toLowerCase();
    if (ext === '.html') res.setHeader('Content-Security-Policy', this.#cspFor(file, body, stats));
    const type = CONTENT_TYPES[ext] ?? 'application/octet-stream';
    const immutable = pathname.startsWith('/_app/immutable/');
    const cache = immutable ? 'public, max-age=31536000, immutable' : 'no-cache';
    send(res, 200, type, cache, body, headOnly);
  }

  /** The CSP for one HTML page, rehashed only when the file changed. */
  #cspFor(file: string, body: Buffer, stats: { mtimeMs: number; size: number }): string {
    const known = this.#pageCsp.get(file);
    if (known?.mtimeMs === stats.mtimeMs && known.size === stats.size) return known.csp;
    const csp = buildCsp(scriptHashes(body.toString('utf8')));
    this.#pageCsp.set(file, { mtimeMs: stats.mtimeMs, size: stats.size, csp });
    return csp;
  }

  /** A file inside the build for this URL path, or null. Never escapes the build directory. */
  #resolve(pathname: string): string | null {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    const base = path.resolve(this.#root, '.' + path.posix.normalize('/' + decoded));
    if (base !== this.#root && !base.startsWith(this.#root + path.sep)) return null;
    for (const candidate of [base, `${base}.html`, path.join(base, 'index.html')]) {
      if (isFile(candidate)) return candidate;
    }
    return null;
  }

  #fallback(): string | null {
    for (const name of ['200.html', 'index.html']) {
      const file = path.join(this.#root, name);
      if (isFile(file)) return file;
    }
    return null;
  }
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  cache: string,
  body: string | Buffer,
  headOnly: boolean,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', cache);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(headOnly ? undefined : body);
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** `'sha256-…'` sources for every inline `<script>` (no src) in the build's HTML files. */
function inlineScriptHashes(root: string): string[] {
  const hashes = new Set<string>();
  for (const file of htmlFiles(root)) {
    for (const hash of scriptHashes(readFileSync(file, 'utf8'))) hashes.add(hash);
  }
  return [...hashes].sort();
}

function scriptHashes(html: string): string[] {
  const hashes: string[] = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const attributes = match[1] ?? '';
    const content = match[2] ?? '';
    if (/\bsrc\s*=/i.test(attributes) || content === '') continue;
    hashes.push(`'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`);
  }
  return hashes;
}

function htmlFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...htmlFiles(full));
    else if (entry.name.endsWith('.html')) found.push(full);
  }
  return found;
}

function buildCsp(scriptHashes: string[]): string {
  return [
    "default-src 'self'",
    ["script-src 'self'", ...scriptHashes].join(' '),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    // CSP3: 'self' also matches ws:/wss: to our own host, so the sync socket needs no wildcard.
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}
