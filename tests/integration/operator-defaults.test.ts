import { afterAll, describe, expect, it } from 'vitest';
import { get, postJson, spaceCookie, type ApiResponse } from '../support/api.js';
import { openRawSocket, rawSync, upgradeRequest } from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

const PUBLIC_ORIGIN = 'https://mend.example';
const HSTS = 'max-age=31536000';

const servers: MendServer[] = [];

async function start(env: Record<string, string | undefined> = {}): Promise<MendServer> {
  const server = await startServer({ env });
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()));
});

async function createSpace(server: MendServer): Promise<{ response: ApiResponse; cookie: string }> {
  const response = await postJson(server, '/api/spaces', { displayName: 'Alex' });
  expect(response.status).toBe(201);
  const { spaceId } = response.json as { spaceId: string };
  return { response, cookie: spaceCookie(response, spaceId) };
}

function spaceIdOf(response: ApiResponse): string {
  return (response.json as { spaceId: string }).spaceId;
}

/**
 * Creates a space on `server`, expects its cookie to be neither Secure nor sent with HSTS, and
 * answers an upgrade that carries the cookie from `origin`.
 */
async function plainCookieUpgradeFrom(server: MendServer, origin: string) {
  const { response, cookie } = await createSpace(server);
  expect(response.setCookies[0]).not.toMatch(/Secure/);
  expect(response.headers.get('strict-transport-security')).toBeNull();
  return upgradeRequest(server, `/sync/${spaceIdOf(response)}`, { Cookie: cookie, Origin: origin });
}

describe('MEND_PUBLIC_ORIGIN behind a TLS-terminating proxy', () => {
  it('marks the space cookie Secure and sends HSTS on every response, though Mend speaks plain HTTP', async () => {
    const server = await start({ MEND_PUBLIC_ORIGIN: PUBLIC_ORIGIN });
    const { response } = await createSpace(server);
    expect(response.setCookies[0]).toMatch(/; Secure(;|$)/);
    expect(response.headers.get('strict-transport-security')).toBe(HSTS);
    for (const path of ['/healthz', '/', '/api/nothing']) {
      expect((await get(server, path)).headers.get('strict-transport-security')).toBe(HSTS);
    }
  });

  it('lets the cookie open a socket from the public origin, and still not from a foreign one', async () => {
    const server = await start({ MEND_PUBLIC_ORIGIN: PUBLIC_ORIGIN });
    const { response, cookie } = await createSpace(server);
    const spaceId = spaceIdOf(response);
    const socket = await openRawSocket(server, spaceId, {
      headers: { Cookie: cookie },
      origin: PUBLIC_ORIGIN,
    });
    await rawSync(socket);
    expect(socket.isOpen).toBe(true);
    socket.close();
    const foreign = await upgradeRequest(server, `/sync/${spaceId}`, {
      Cookie: cookie,
      Origin: 'https://evil.example',
    });
    expect(foreign.status).toBe(403);
  });

  it('is neither Secure nor HSTS without MEND_PUBLIC_ORIGIN, and refuses the cookie from that origin', async () => {
    const server = await start();
    const answer = await plainCookieUpgradeFrom(server, PUBLIC_ORIGIN);
    expect(answer.status).toBe(403);
  });

  it('is neither Secure nor HSTS for an http public origin, which the Origin check still accepts', async () => {
    const origin = 'http://mend.lan:8080';
    const server = await start({ MEND_PUBLIC_ORIGIN: origin });
    const answer = await plainCookieUpgradeFrom(server, origin);
    expect(answer.upgraded).toBe(true);
  });
});

describe('/metrics', () => {
  it('is not served at all without MEND_METRICS_PORT', async () => {
    const server = await start({ MEND_METRICS_PORT: undefined });
    expect(server.metricsUrl).toBeNull();
    const response = await get(server, '/metrics');
    expect(response.status).toBe(404);
    expect(response.text).not.toContain('mend_');
  });
});

describe('the Content-Security-Policy', () => {
  it("allows connections only to Mend's own origin, sockets included, with no ws: or wss: wildcard", async () => {
    const server = await start();
    const csp = (await get(server, '/')).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/(^|; )connect-src 'self'(;|$)/);
    expect(csp).not.toMatch(/wss?:/);
  });
});
