import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, postJson, spaceCookie, type CreatedSpace } from '../support/api.js';
import { openRawSocket, rawSync, upgradeRequest, type UpgradeAnswer } from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';

const ALLOWED_ORIGIN = 'http://allowed.example';
const FOREIGN_ORIGIN = 'http://evil.example';

let server: MendServer;
let space: CreatedSpace;
let cookie: string;
let otherSpace: CreatedSpace;
let otherCookie: string;

async function create(): Promise<{ space: CreatedSpace; cookie: string }> {
  const response = await postJson(server, '/api/spaces', { displayName: 'Alex' });
  expect(response.status).toBe(201);
  const created = response.json as CreatedSpace;
  return { space: created, cookie: spaceCookie(response, created.spaceId) };
}

/** Refused at the upgrade: a plain HTTP answer, and not one byte of a y-websocket message. */
function expectRefused(answer: UpgradeAnswer, statuses: readonly number[]): void {
  expect(answer.upgraded).toBe(false);
  expect(statuses).toContain(answer.status);
  // Every y-websocket sync message starts with a 0 byte; a text or JSON refusal has none.
  expect(answer.body.includes(0)).toBe(false);
  expect(answer.body.length).toBeLessThan(1024);
}

beforeAll(async () => {
  server = await startServer({ env: { MEND_ALLOWED_ORIGINS: ALLOWED_ORIGIN } });
  ({ space, cookie } = await create());
  ({ space: otherSpace, cookie: otherCookie } = await create());
});

afterAll(async () => {
  await server?.dispose();
});

describe('refusals at the upgrade', () => {
  it('refuses a socket with no token with 401', async () => {
    expectRefused(await upgradeRequest(server, `/sync/${space.spaceId}`), [401]);
  });

  it('refuses an unknown token with 401', async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, {
        Authorization: `Bearer ${'A'.repeat(43)}`,
      }),
      [401],
    );
  });

  it('refuses a header that is not a Bearer token with 401', async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, {
        Authorization: `Basic ${Buffer.from(`x:${space.token}`).toString('base64')}`,
      }),
      [401],
    );
  });

  it("refuses another space's valid token with 403", async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, {
        Authorization: `Bearer ${otherSpace.token}`,
      }),
      [403],
    );
  });

  it('answers an upgrade to a space that does not exist only with 401 or 403, never revealing it', async () => {
    const missing = '/sync/NoSuchSpace_0123456789';
    expectRefused(await upgradeRequest(server, missing), [401]);
    expectRefused(
      await upgradeRequest(server, missing, { Authorization: `Bearer ${'A'.repeat(43)}` }),
      [401],
    );
    expectRefused(
      await upgradeRequest(server, missing, { Authorization: `Bearer ${space.token}` }),
      [403],
    );
  });

  it('never accepts a token in the query string', async () => {
    for (const name of ['token', 'access_token', 'auth', 'bearer']) {
      const path = `/sync/${space.spaceId}?${name}=${encodeURIComponent(space.token)}`;
      expectRefused(await upgradeRequest(server, path), [401]);
    }
  });

  it('refuses the cookie when the upgrade has no Origin', async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, { Cookie: cookie }),
      [401, 403],
    );
  });

  it('refuses the cookie from a foreign Origin with 403', async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, {
        Cookie: cookie,
        Origin: FOREIGN_ORIGIN,
      }),
      [403],
    );
  });

  it("refuses another space's cookie even from the server's own origin", async () => {
    expectRefused(
      await upgradeRequest(server, `/sync/${space.spaceId}`, {
        Cookie: otherCookie,
        Origin: server.url,
      }),
      [401, 403],
    );
  });
});

describe('accepted sockets', () => {
  it('accepts the Bearer token from any origin and serves the document', async () => {
    for (const origin of [undefined, FOREIGN_ORIGIN]) {
      const socket = await openRawSocket(server, space.spaceId, {
        token: space.token,
        ...(origin === undefined ? {} : { origin }),
      });
      const doc = await rawSync(socket);
      expect(socket.isOpen).toBe(true);
      expect(doc).toBeDefined();
      socket.close();
    }
  });

  it("accepts the cookie from the server's own origin", async () => {
    const socket = await openRawSocket(server, space.spaceId, {
      headers: { Cookie: cookie },
      origin: server.url,
    });
    await rawSync(socket);
    expect(socket.isOpen).toBe(true);
    socket.close();
  });

  it('accepts the cookie from an origin listed in MEND_ALLOWED_ORIGINS', async () => {
    const socket = await openRawSocket(server, space.spaceId, {
      headers: { Cookie: cookie },
      origin: ALLOWED_ORIGIN,
    });
    await rawSync(socket);
    expect(socket.isOpen).toBe(true);
    socket.close();
  });
});

// The web app asks why a socket was refused with a plain GET on the same path
// (docs/api.md, GET /sync/:spaceId without an upgrade).
describe('GET /sync/:spaceId without an upgrade', () => {
  it('names the partner for a valid token or cookie, and explains refusals with a status', async () => {
    const bearer = await get(server, `/sync/${space.spaceId}`, {
      Authorization: `Bearer ${space.token}`,
    });
    expect(bearer.status).toBe(200);
    expect(bearer.json).toEqual({
      spaceId: space.spaceId,
      partnerId: space.partnerId,
      sealed: false,
    });

    const byCookie = await get(server, `/sync/${space.spaceId}`, {
      Cookie: cookie,
      Origin: server.url,
    });
    expect(byCookie.status).toBe(200);

    expect((await get(server, `/sync/NoSuchSpace_0123456789`, { Cookie: cookie })).status).toBe(
      404,
    );
    expect((await get(server, `/sync/${space.spaceId}`)).status).toBe(401);
    const wrongSpace = await get(server, `/sync/${space.spaceId}`, {
      Authorization: `Bearer ${otherSpace.token}`,
    });
    expect(wrongSpace.status).toBe(403);
    expect(wrongSpace.json).toEqual({ error: expect.any(String) as string });
  });
});

describe('logs', () => {
  it('never contain a token or cookie, not even one a client put in the query string', async () => {
    await upgradeRequest(server, `/sync/${space.spaceId}?token=${space.token}`);
    await upgradeRequest(server, `/sync/${space.spaceId}`, {
      Cookie: cookie,
      Origin: FOREIGN_ORIGIN,
    });
    await upgradeRequest(server, `/sync/${space.spaceId}`, {
      Authorization: `Bearer ${otherSpace.token}`,
    });
    // Stopping flushes every log line the requests caused into `output`.
    await server.stop();
    const output = server.output.join('\n');
    expect(output.length).toBeGreaterThan(0);
    for (const secret of [space.token, otherSpace.token, space.inviteCode]) {
      expect(output).not.toContain(secret);
    }
  });
});
