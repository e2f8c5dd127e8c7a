import { afterAll, describe, expect, it } from 'vitest';
import { postJson, type ApiResponse } from '../support/api.js';
import { startServer, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];

async function start(env: Record<string, string>): Promise<MendServer> {
  const server = await startServer({ env });
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.dispose()));
});

/** Creates a space as a client behind the given X-Forwarded-For header. */
function createFrom(server: MendServer, forwardedFor?: string): Promise<ApiResponse> {
  return postJson(
    server,
    '/api/spaces',
    { displayName: 'Alex' },
    forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor },
  );
}

function expectCalmRefusal(response: ApiResponse): void {
  expect(response.status).toBe(429);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  const { error } = response.json as { error: string };
  expect(error).toMatch(/^[A-Z][^{}\n]+\.$/);
  expect(error).not.toMatch(/Error|at \w+ \(/);
}

/**
 * With an allowance of two: the first two addresses of one /64 use it up, the third (same /64) is
 * refused, and an address of another /64 still gets its own.
 */
async function expectAllowanceOfTwoPer64(
  server: MendServer,
  sameSlash64: readonly [string, string, string],
  otherSlash64: string,
): Promise<void> {
  expect((await createFrom(server, sameSlash64[0])).status).toBe(201);
  expect((await createFrom(server, sameSlash64[1])).status).toBe(201);
  expectCalmRefusal(await createFrom(server, sameSlash64[2]));
  expect((await createFrom(server, otherSlash64)).status).toBe(201);
}

describe('spaces created per address per day', () => {
  it('stops an address at MEND_MAX_SPACES_PER_DAY with 429, Retry-After and a calm message', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '2' });
    expect((await createFrom(server)).status).toBe(201);
    expect((await createFrom(server)).status).toBe(201);
    const refused = await createFrom(server);
    expectCalmRefusal(refused);
    // Once a day per address, not per minute: a whole day at most.
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(24 * 60 * 60);
    expect((await postJson(server, '/api/spaces/NoSuchSpace_0123456789/join', {})).status).toBe(
      404,
    );
  });

  it('does not count a creation that failed', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '1' });
    expect((await postJson(server, '/api/spaces', { displayName: '' })).status).toBe(400);
    expect((await postJson(server, '/api/spaces', 'not json')).status).toBe(400);
    expect((await createFrom(server)).status).toBe(201);
    expectCalmRefusal(await createFrom(server));
  });

  it('is off with MEND_MAX_SPACES_PER_DAY=0', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '0' });
    for (let i = 0; i < 25; i++) expect((await createFrom(server)).status).toBe(201);
  });

  it('counts every IPv6 address of one /64 together, and another /64 apart', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '2', MEND_TRUST_PROXY: 'true' });
    await expectAllowanceOfTwoPer64(
      server,
      ['2001:db8:1:2::1', '2001:db8:1:2:aaaa::2', '2001:db8:1:2:ffff:ffff:ffff:ffff'],
      '2001:db8:1:3::1',
    );
  });
});

describe('the client address behind a proxy', () => {
  it('is the last X-Forwarded-For entry with MEND_TRUST_PROXY, whatever the client put before it', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '1', MEND_TRUST_PROXY: 'true' });
    expect((await createFrom(server, '198.51.100.1')).status).toBe(201);
    // A client cannot get a fresh allowance by writing its own entry first.
    expectCalmRefusal(await createFrom(server, '203.0.113.9, 198.51.100.1'));
    expectCalmRefusal(await createFrom(server, '::ffff:198.51.100.1'));
    expect((await createFrom(server, '198.51.100.1, 198.51.100.2')).status).toBe(201);
  });

  it('ignores X-Forwarded-For without MEND_TRUST_PROXY', async () => {
    const server = await start({ MEND_MAX_SPACES_PER_DAY: '1' });
    expect((await createFrom(server, '198.51.100.1')).status).toBe(201);
    expectCalmRefusal(await createFrom(server, '198.51.100.2'));
  });
});

describe('the per-minute rate limit', () => {
  it('counts every IPv6 address of one /64 together', async () => {
    const server = await start({ MEND_RATE_LIMIT_PER_MINUTE: '2', MEND_TRUST_PROXY: '1' });
    await expectAllowanceOfTwoPer64(
      server,
      ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6::3'],
      '2001:db8:5:7::1',
    );
  });
});
