import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ID_PATTERN, Limits, getSpace, listPartners } from '@mend/model';
import type { SpaceId } from '@mend/protocol';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../config.js';
import { createMendServer, type MendServer } from '../MendServer.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import { storedDoc } from '../sync/roomHarness.testkit.js';
import { testConfig } from '../testConfig.testkit.js';

const INLINE_SCRIPT = 'window.__boot = 1;';

interface Running {
  server: MendServer;
  url: string;
  metricsPort: number | null;
  storage: MemoryAdapter;
}

const webDir = mkdtempSync(path.join(tmpdir(), 'mend-web-'));
const running: Running[] = [];

function config(overrides: Partial<Config> = {}): Config {
  return testConfig({ dataDir: webDir, webDir, ...overrides });
}

async function start(overrides: Partial<Config> = {}): Promise<Running> {
  const storage = new MemoryAdapter();
  const server = await createMendServer(config(overrides), {
    storage,
    log: pino({ level: 'silent' }),
  });
  const { url, metricsPort } = await server.start();
  const run = { server, url, metricsPort, storage };
  running.push(run);
  return run;
}

async function post(base: string, pathname: string, body: unknown): Promise<Response> {
  return fetch(base + pathname, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

let app: Running;

beforeAll(async () => {
  writeFileSync(
    path.join(webDir, '200.html'),
    `<!doctype html><html><body>fallback<script>${INLINE_SCRIPT}</script></body></html>`,
  );
  writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><html><body>home</body></html>');
  mkdirSync(path.join(webDir, '_app', 'immutable'), { recursive: true });
  writeFileSync(path.join(webDir, '_app', 'immutable', 'entry.js'), 'export {};');
  writeFileSync(path.join(tmpdir(), 'mend-secret.txt'), 'outside the build');
  app = await start();
});

afterAll(async () => {
  for (const run of running) await run.server.stop();
  rmSync(webDir, { recursive: true, force: true });
  rmSync(path.join(tmpdir(), 'mend-secret.txt'), { force: true });
});

describe('HTTP API', () => {
  it('reports health with security headers and a CSP that allows only hashed inline scripts', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    const csp = response.headers.get('content-security-policy') ?? '';
    const hash = createHash('sha256').update(INLINE_SCRIPT).digest('base64');
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).not.toMatch(/wss?:/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('creates a space, sets its cookie, and writes the space and first partner into the document', async () => {
    const response = await post(app.url, '/api/spaces', { displayName: ' Robin ', name: 'Us' });
    expect(response.status).toBe(201);
    const body = (await response.json()) as Record<string, string>;
    expect(body.spaceId).toMatch(ID_PATTERN);
    expect(body.partnerId).toMatch(ID_PATTERN);
    expect(Buffer.from(body.token ?? '', 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(Buffer.from(body.inviteCode ?? '', 'base64url').length).toBeGreaterThanOrEqual(16);
    expect(response.headers.get('set-cookie')).toBe(
      `mend_${body.spaceId}=${body.token}; Path=/sync/${body.spaceId}; HttpOnly; SameSite=Strict; Max-Age=34560000`,
    );
    const doc = await storedDoc(app.storage, body.spaceId as SpaceId);
    expect(getSpace(doc)?.name).toBe('Us');
    expect(listPartners(doc).map((p) => [p.id, p.displayName])).toEqual([
      [body.partnerId, 'Robin'],
    ]);
    const [partner] = await app.storage.listPartners(body.spaceId as SpaceId);
    expect(Buffer.from(partner!.tokenHash).toString('base64url')).not.toBe(body.token);
  });

  it('checks a join in the order 404, 400, 403, 409', async () => {
    const created = (await (
      await post(app.url, '/api/spaces', { displayName: 'Robin' })
    ).json()) as {
      spaceId: string;
      inviteCode: string;
    };
    const join = (spaceId: string, body: unknown) =>
      post(app.url, `/api/spaces/${spaceId}/join`, body);

    expect((await join('NoSuchSpace_0123456789', 'not json')).status).toBe(404);
    expect((await join(created.spaceId, 'not json')).status).toBe(400);
    expect((await join(created.spaceId, [1, 2])).status).toBe(400);
    expect((await join(created.spaceId, { inviteCode: 'wrong' })).status).toBe(400);
    expect((await join(created.spaceId, { inviteCode: 'wrong', displayName: 'Alex' })).status).toBe(
      403,
    );
    const joined = await join(created.spaceId, {
      inviteCode: created.inviteCode,
      displayName: 'Alex',
    });
    expect(joined.status).toBe(201);
    const again = await join(created.spaceId, {
      inviteCode: created.inviteCode,
      displayName: 'Sam',
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: expect.any(String) as string });
    const doc = await storedDoc(app.storage, created.spaceId as SpaceId);
    expect(listPartners(doc).map((p) => p.displayName)).toEqual(['Robin', 'Alex']);
  });

  it('counts display names in code points after trimming', async () => {
    const longest = '🌙'.repeat(Limits.displayName);
    const ok = await post(app.url, '/api/spaces', { displayName: ` ${longest} ` });
    expect(ok.status).toBe(201);
    expect((await post(app.url, '/api/spaces', { displayName: `${longest}🌙` })).status).toBe(400);
    expect((await post(app.url, '/api/spaces', { displayName: '   ' })).status).toBe(400);
    expect((await post(app.url, '/api/spaces', { displayName: 42 })).status).toBe(400);
  });

  it('limits creates and joins per address with 429 and Retry-After', async () => {
    const limited = await start({ rateLimitPerMinute: 2 });
    expect((await post(limited.url, '/api/spaces', { displayName: 'A' })).status).toBe(201);
    expect((await post(limited.url, '/api/spaces', { displayName: 'B' })).status).toBe(201);
    const refused = await post(limited.url, '/api/spaces', { displayName: 'C' });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
  });

  it('serves built files, caches immutable assets for a year, and falls back to 200.html', async () => {
    const asset = await fetch(`${app.url}/_app/immutable/entry.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-type')).toContain('javascript');
    const route = await fetch(`${app.url}/s/some-space/agreements`);
    expect(route.status).toBe(200);
    expect(route.headers.get('cache-control')).toBe('no-cache');
    expect(await route.text()).toContain('fallback');
    const escape = await fetch(`${app.url}/..%2f..%2fmend-secret.txt`);
    expect(await escape.text()).not.toContain('outside the build');
  });

  it('tells the web app who it is from its cookie on a same-origin GET, which carries no Origin', async () => {
    const response = await post(app.url, '/api/spaces', { displayName: 'Robin' });
    const created = (await response.json()) as { spaceId: string; partnerId: string };
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const sameOrigin = await fetch(`${app.url}/sync/${created.spaceId}`, {
      headers: { Cookie: cookie },
    });
    expect(sameOrigin.status).toBe(200);
    expect(await sameOrigin.json()).toEqual({
      spaceId: created.spaceId,
      partnerId: created.partnerId,
      sealed: false,
    });
    const foreign = await fetch(`${app.url}/sync/${created.spaceId}`, {
      headers: { Cookie: cookie, Origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const crossSite = await fetch(`${app.url}/sync/${created.spaceId}`, {
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
  });

  it('answers unknown API paths with a JSON 404', async () => {
    const response = await fetch(`${app.url}/api/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: expect.any(String) as string });
  });

  it('says plainly that the web app is not built when its build is missing', async () => {
    const bare = await start({ webDir: path.join(webDir, 'missing') });
    const response = await fetch(`${bare.url}/`);
    expect(await response.text()).toContain('not been built');
    expect((await fetch(`${bare.url}/healthz`)).status).toBe(200);
  });

  it('exposes Prometheus metrics on the metrics listener only', async () => {
    const withMetrics = await start({ metricsPort: 0 });
    expect(withMetrics.metricsPort).toBeGreaterThan(0);
    const text = await (await fetch(`http://127.0.0.1:${withMetrics.metricsPort}/metrics`)).text();
    expect(text).toContain('mend_loaded_rooms');
    expect(text).toContain('mend_open_sockets');
    expect(text).toContain('mend_update_persist_seconds');
    const onPublicPort = await fetch(`${withMetrics.url}/metrics`);
    expect(onPublicPort.status).toBe(404);
    expect(await onPublicPort.text()).not.toContain('mend_');
    expect(app.metricsPort).toBeNull();
    expect((await fetch(`${app.url}/metrics`)).status).toBe(404);
  });

  it('serves a rebuilt page with the hash of its new inline script, without a restart', async () => {
    const siteDir = mkdtempSync(path.join(tmpdir(), 'mend-rebuilt-'));
    const page = (script: string) =>
      `<!doctype html><html><body><script>${script}</script></body></html>`;
    const hashOf = (script: string) =>
      `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
    try {
      writeFileSync(path.join(siteDir, 'index.html'), page('window.__build = 1;'));
      const site = await start({ webDir: siteDir });
      const before = (await fetch(`${site.url}/`)).headers.get('content-security-policy');
      expect(before).toContain(hashOf('window.__build = 1;'));

      writeFileSync(path.join(siteDir, 'index.html'), page('window.__build = "two";'));
      const after = await fetch(`${site.url}/`);
      expect(await after.text()).toContain('"two"');
      const csp = after.headers.get('content-security-policy');
      expect(csp).toContain(hashOf('window.__build = "two";'));
      expect(csp).not.toContain(hashOf('window.__build = 1;'));
    } finally {
      rmSync(siteDir, { recursive: true, force: true });
    }
  });
});
