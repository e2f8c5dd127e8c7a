// Scenario 6: what the first page load costs a phone, from the built app's 200.html: its inline
// bootstrap, the entry scripts it imports, every modulepreload and stylesheet, and the static
// imports they pull in, each gzipped as a server would send it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoRoot } from '../lib/targets.mjs';

export const buildDir = path.join(repoRoot, 'apps/web/build');

const attr = (tag, name) => new RegExp(`${name}="([^"]+)"`).exec(tag)?.[1];
const gzip = (bytes) => gzipSync(bytes, { level: 9 }).byteLength;
const sum = (files, key) => files.reduce((n, f) => n + f[key], 0);

/** Built files by URL path: each one's size and gzipped size, and the totals. */
export function weigh(urls) {
  const files = [...urls].map((url) => {
    const bytes = readFileSync(path.join(buildDir, url));
    return { url, bytes: bytes.byteLength, gzipBytes: gzip(bytes) };
  });
  return { files, bytes: sum(files, 'bytes'), gzipBytes: sum(files, 'gzipBytes') };
}

/** Relative static imports of a built chunk (`import … from "./x.js"`, `import "./x.js"`). */
function staticImports(code, from) {
  const found = [];
  for (const match of code.matchAll(/(?:\bfrom|\bimport)\s*["']([^"']+\.js)["']/g)) {
    found.push(path.posix.join(path.posix.dirname(from), match[1]));
  }
  return found;
}

export function clientWeight() {
  const htmlFile = path.join(buildDir, '200.html');
  if (!existsSync(htmlFile))
    return { available: false, reason: 'apps/web/build/200.html is missing' };
  const html = readFileSync(htmlFile, 'utf8');
  const scripts = new Set();
  const styles = new Set();
  for (const tag of html.match(/<link\b[^>]*>/g) ?? []) {
    const rel = attr(tag, 'rel');
    const href = attr(tag, 'href');
    if (!href) continue;
    if (rel === 'modulepreload') scripts.add(href);
    if (rel === 'stylesheet') styles.add(href);
  }
  const inline = [];
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    const src = attr(match[1], 'src');
    if (src) scripts.add(src);
    else {
      inline.push(match[2]);
      for (const entry of match[2].matchAll(/import\(\s*["']([^"']+\.js)["']\s*\)/g))
        scripts.add(entry[1]);
    }
  }
  // Follow static imports so nothing the entry needs before it can run is left out.
  const queue = [...scripts];
  while (queue.length > 0) {
    const url = queue.shift();
    const file = path.join(buildDir, url);
    if (!existsSync(file)) continue;
    for (const dep of staticImports(readFileSync(file, 'utf8'), url)) {
      if (!scripts.has(dep)) {
        scripts.add(dep);
        queue.push(dep);
      }
    }
  }
  const inlineBytes = Buffer.from(inline.join('\n'));
  const htmlBytes = Buffer.from(html);
  return {
    available: true,
    html: {
      bytes: htmlBytes.byteLength,
      gzipBytes: gzip(htmlBytes),
      inlineScriptBytes: inlineBytes.byteLength,
    },
    js: weigh(scripts),
    css: weigh(styles),
  };
}
