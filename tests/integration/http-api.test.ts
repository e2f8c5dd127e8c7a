import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ID_PATTERN, Limits } from '@mend/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSpace,
  get,
  joinSpace,
  postJson,
  type ApiResponse,
  type CreatedSpace,
} from '../support/api.js';
import { startServer, type MendServer } from '../support/server.js';

const UNKNOWN_SPACE = 'NoSuchSpace_0123456789';

/**
 * At least 128 bits of randomness, judged from the text alone: 32 hex digits, or 22 characters of
 * a larger alphabet (base64url carries 6 bits per character).
 */
function expectAtLeast128Bits(secret: string): void {
  expect(secret).toMatch(/^[\x21-\x7e]+$/);
  const minimum = /^[0-9a-fA-F]+$/.test(secret) ? 32 : 22;
  expect(secret.length).toBeGreaterThanOrEqual(minimum);
}

function expectError(response: ApiResponse, status: number): void {
  expect({ status: response.status, body: response.text }).toEqual({
    status,
    body: expect.any(String) as string,
  });
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.json).toEqual({ error: expect.any(String) as string });
  const message = (response.json as { error: string }).error;
  expect(message.trim().length).toBeGreaterThan(0);
  // A person may read this: no stack trace, no internals.
  expect(message).not.toMatch(/\bat .+:\d+:\d+|Error:|undefined|null/);
}

/** Directives of a Content-Security-Policy header by name. */
function cspDirectives(header: string | null): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  return directives;
}

function cookieAttributes(setCookie: string): {
  name: string;
  value: string;
  attributes: Map<string, string>;
} {
  const [pair = '', ...rest] = setCookie.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const attribute of rest) {
    const [key = '', ...value] = attribute.trim().split('=');
    attributes.set(key.toLowerCase(), value.join('='));
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

let server: MendServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.dispose();
});

describe('health', () => {
  it('answers /healthz with {"ok":true} once storage is ready', async () => {
    const response = await get(server, '/healthz');
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ ok: true });
  });
});

describe('creating a space', () => {
  it('answers 201 with a space id, partner id, token and invite code of the contract shape', async () => {
    const response = await postJson(server, '/api/spaces', { displayName: 'Alex', name: 'Us' });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = response.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['inviteCode', 'partnerId', 'spaceId', 'token']);
    expect(body.spaceId).toMatch(ID_PATTERN);
    expect(body.partnerId).toMatch(ID_PATTERN);
    expectAtLeast128Bits(body.token as string);
    expectAtLeast128Bits(body.inviteCode as string);
  });

  it('accepts a body without the optional name', async () => {
    const response = await postJson(server, '/api/spaces', { displayName: 'Alex' });
    expect(response.status).toBe(201);
  });

  it('gives every space its own id, token and invite code', async () => {
    const first = await createSpace(server);
    const second = await createSpace(server);
    expect(second.spaceId).not.toBe(first.spaceId);
    expect(second.token).not.toBe(first.token);
    expect(second.inviteCode).not.toBe(first.inviteCode);
    expect(new Set([first.token, first.inviteCode]).size).toBe(2);
  });

  it.each([
    ['a body that is not JSON', '{"displayName": "Alex"'],
    ['a JSON array', '[]'],
    ['a JSON string', '"Alex"'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['an empty body', ''],
  ])('refuses %s with 400', async (_label, body) => {
    expectError(await postJson(server, '/api/spaces', body), 400);
  });

  it.each([
    ['a missing displayName', {}],
    ['a displayName that is a number', { displayName: 42 }],
    ['a displayName that is null', { displayName: null }],
    ['a displayName that is empty', { displayName: '' }],
    ['a displayName of only spaces', { displayName: '  \t ' }],
    ['a displayName one letter too long', { displayName: 'a'.repeat(Limits.displayName + 1) }],
    ['a displayName one emoji too long', { displayName: '🌙'.repeat(Limits.displayName + 1) }],
    ['a name that is not a string', { displayName: 'Alex', name: 7 }],
    ['a name one letter too long', { displayName: 'Alex', name: 'x'.repeat(Limits.spaceName + 1) }],
  ])('refuses %s with 400', async (_label, body) => {
    expectError(await postJson(server, '/api/spaces', body), 400);
  });

  it('counts a displayName in code points after trimming, so the longest name in emoji is accepted', async () => {
    // Each emoji is two UTF-16 units: a length check on the JS string would refuse them.
    const emoji = '🌙'.repeat(Limits.displayName);
    expect((await postJson(server, '/api/spaces', { displayName: emoji })).status).toBe(201);
    const padded = `   ${'b'.repeat(Limits.displayName)}   `;
    expect((await postJson(server, '/api/spaces', { displayName: padded })).status).toBe(201);
  });
});

describe('joining a space', () => {
  let space: CreatedSpace;

  beforeAll(async () => {
    space = await createSpace(server, { displayName: 'Alex' });
  });

  it('answers 404 for an unknown space before looking at the body', async () => {
    expectError(await postJson(server, `/api/spaces/${UNKNOWN_SPACE}/join`, 'not json'), 404);
    expectError(await postJson(server, `/api/spaces/${UNKNOWN_SPACE}/join`, {}), 404);
    expectError(
      await postJson(server, `/api/spaces/${UNKNOWN_SPACE}/join`, {
        inviteCode: space.inviteCode,
        displayName: 'Sam',
      }),
      404,
    );
  });

  it('answers 404 for a space id that could never exist', async () => {
    expectError(
      await postJson(server, '/api/spaces/x/join', { inviteCode: 'abc', displayName: 'Sam' }),
      404,
    );
  });

  it.each([
    ['a body that is not JSON', '{'],
    ['a JSON array', '["code"]'],
    ['a missing inviteCode', { displayName: 'Sam' }],
    ['a missing displayName', { inviteCode: 'wrong-code' }],
    ['an inviteCode that is a number', { inviteCode: 12345, displayName: 'Sam' }],
    ['a displayName that is empty after trimming', { inviteCode: 'wrong-code', displayName: ' ' }],
    [
      'a displayName one code point too long',
      { inviteCode: 'wrong-code', displayName: '🌿'.repeat(Limits.displayName + 1) },
    ],
  ])('refuses %s with 400 before checking the invite code', async (_label, body) => {
    expectError(await postJson(server, `/api/spaces/${space.spaceId}/join`, body), 400);
  });

  it('refuses a wrong invite code with 403', async () => {
    expectError(
      await postJson(server, `/api/spaces/${space.spaceId}/join`, {
        inviteCode: `${space.inviteCode}x`,
        displayName: 'Sam',
      }),
      403,
    );
  });

  it('answers 201 with the space id, a new partner id and a token of the contract shape', async () => {
    const response = await postJson(server, `/api/spaces/${space.spaceId}/join`, {
      inviteCode: space.inviteCode,
      displayName: '🌿'.repeat(Limits.displayName),
    });
    expect(response.status).toBe(201);
    const body = response.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['partnerId', 'spaceId', 'token']);
    expect(body.spaceId).toBe(space.spaceId);
    expect(body.partnerId).toMatch(ID_PATTERN);
    expect(body.partnerId).not.toBe(space.partnerId);
    expectAtLeast128Bits(body.token as string);
    expect(body.token).not.toBe(space.token);
  });

  it('refuses the used invite code with 409, a wrong one still with 403, a bad body with 400', async () => {
    expectError(
      await postJson(server, `/api/spaces/${space.spaceId}/join`, {
        inviteCode: space.inviteCode,
        displayName: 'Third',
      }),
      409,
    );
    expectError(
      await postJson(server, `/api/spaces/${space.spaceId}/join`, {
        inviteCode: 'not-the-code-at-all-0123456789',
        displayName: 'Third',
      }),
      403,
    );
    expectError(
      await postJson(server, `/api/spaces/${space.spaceId}/join`, {
        inviteCode: space.inviteCode,
        displayName: '   ',
      }),
      400,
    );
  });
});

describe('the space cookie', () => {
  it('is set on create and join, HttpOnly and SameSite=Strict, scoped to that one space', async () => {
    const created = await postJson(server, '/api/spaces', { displayName: 'Alex' });
    const { spaceId, inviteCode, token } = created.json as CreatedSpace;
    const joined = await postJson(server, `/api/spaces/${spaceId}/join`, {
      inviteCode,
      displayName: 'Sam',
    });
    const joinedToken = (joined.json as { token: string }).token;

    for (const [response, expectedToken] of [
      [created, token],
      [joined, joinedToken],
    ] as const) {
      const cookies = response.setCookies.map(cookieAttributes);
      const cookie = cookies.find((c) => c.value.includes(expectedToken));
      expect(
        cookie,
        `a cookie carrying the token in ${response.setCookies.join(' | ')}`,
      ).toBeDefined();
      if (!cookie) return;
      expect(cookie.attributes.has('httponly')).toBe(true);
      expect(cookie.attributes.get('samesite')?.toLowerCase()).toBe('strict');
      const path = cookie.attributes.get('path') ?? '/';
      expect(cookie.name.includes(spaceId) || path.includes(spaceId)).toBe(true);
      // Plain HTTP here: a Secure cookie would never be sent back by a browser.
      expect(cookie.attributes.has('secure')).toBe(false);
    }
  });

  it('lets one browser hold the cookies of two spaces at once', async () => {
    const first = await postJson(server, '/api/spaces', { displayName: 'Alex' });
    const second = await postJson(server, '/api/spaces', { displayName: 'Alex' });
    const scope = (response: ApiResponse) =>
      response.setCookies.map(cookieAttributes).map((c) => `${c.name} ${c.attributes.get('path')}`);
    // Same name and same path would make the second cookie replace the first.
    expect(scope(second)).not.toEqual(scope(first));
  });

  it('never puts a token or invite code in a URL or a redirect', async () => {
    const created = await postJson(server, '/api/spaces', { displayName: 'Alex' });
    const { token, inviteCode } = created.json as CreatedSpace;
    created.headers.forEach((value, name) => {
      if (name === 'set-cookie') return;
      expect(value).not.toContain(token);
      expect(value).not.toContain(inviteCode);
    });
    expect(created.headers.get('location')).toBeNull();
  });
});

describe('security headers', () => {
  const paths: [string, () => Promise<ApiResponse>][] = [
    ['/healthz', () => get(server, '/healthz')],
    ['a created space', () => postJson(server, '/api/spaces', { displayName: 'Alex' })],
    ['an API error', () => postJson(server, `/api/spaces/${UNKNOWN_SPACE}/join`, {})],
    ['a page', () => get(server, '/')],
  ];

  it.each(paths)('are sent with %s', async (_label, send) => {
    const response = await send();
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const csp = cspDirectives(response.headers.get('content-security-policy'));
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    const scripts = csp.get('script-src') ?? csp.get('default-src');
    expect(scripts, 'a script-src or default-src directive').toBeDefined();
    expect(scripts).not.toContain("'unsafe-inline'");
    expect(scripts).not.toContain("'unsafe-eval'");
    expect(scripts).not.toContain('*');
  });
});

describe('storage', () => {
  it('keeps tokens only as hashes: no file in the data directory contains one', async () => {
    const created = await createSpace(server, { displayName: 'Alex' });
    const joined = await joinSpace(server, created.spaceId, {
      inviteCode: created.inviteCode,
      displayName: 'Sam',
    });
    const files = await readdir(server.dataDir, { recursive: true, withFileTypes: true });
    const contents = await Promise.all(
      files
        .filter((entry) => entry.isFile())
        .map((entry) => readFile(join(entry.parentPath, entry.name))),
    );
    expect(contents.length).toBeGreaterThan(0);
    expect(contents.some((bytes) => bytes.includes(created.spaceId))).toBe(true);
    for (const token of [created.token, joined.token]) {
      const forms = [Buffer.from(token)];
      if (/^[A-Za-z0-9_-]+$/.test(token)) forms.push(Buffer.from(token, 'base64url'));
      if (/^[0-9a-fA-F]+$/.test(token)) forms.push(Buffer.from(token, 'hex'));
      for (const bytes of contents) {
        for (const form of forms) expect(bytes.includes(form)).toBe(false);
      }
    }
  });
});

describe('rate limit', () => {
  let limited: MendServer;

  beforeAll(async () => {
    limited = await startServer({ env: { MEND_RATE_LIMIT_PER_MINUTE: '3' } });
  });

  afterAll(async () => {
    await limited?.dispose();
  });

  it('answers 429 with Retry-After once an address made more create and join requests than allowed a minute', async () => {
    const space = await createSpace(limited);
    const other = await createSpace(limited);
    await joinSpace(limited, space.spaceId, { inviteCode: space.inviteCode, displayName: 'Sam' });

    const create = await postJson(limited, '/api/spaces', { displayName: 'Alex' });
    expectError(create, 429);
    const retryAfter = Number(create.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);

    const join = await postJson(limited, `/api/spaces/${other.spaceId}/join`, {
      inviteCode: other.inviteCode,
      displayName: 'Sam',
    });
    expect(join.status).toBe(429);
    expect(join.headers.get('retry-after')).not.toBeNull();

    // The limit is on creating and joining, not on the rest of the server.
    expect((await get(limited, '/healthz')).status).toBe(200);
  });
});

// Last: it stops the shared server to read its complete output.
describe('logs', () => {
  it('never contain a token or an invite code', async () => {
    const created = await createSpace(server, { displayName: 'Alex' });
    const joined = await joinSpace(server, created.spaceId, {
      inviteCode: created.inviteCode,
      displayName: 'Sam',
    });
    await postJson(server, `/api/spaces/${created.spaceId}/join`, {
      inviteCode: created.inviteCode,
      displayName: 'Again',
    });
    // Stopping flushes every log line the requests caused into `output`.
    await server.stop();
    const output = server.output.join('\n');
    expect(output).not.toContain(created.token);
    expect(output).not.toContain(created.inviteCode);
    expect(output).not.toContain(joined.token);
  });
});
