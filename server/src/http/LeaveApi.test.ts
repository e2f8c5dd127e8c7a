import { randomBytes } from 'node:crypto';
import { CloseCode, SEALED_SUBPROTOCOL, type SpaceId } from '@mend/protocol';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryPubSub, MemoryPubSubHub } from '../pubsub/MemoryPubSub.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import {
  b64,
  bearer,
  deviceKeys,
  httpTestServers,
  openSocket,
  postJson,
  sealedPair,
  withinASecond,
  type RunningServer,
  type Seat,
} from './httpApi.testkit.js';

const { start } = httpTestServers();
let app: RunningServer;

beforeAll(async () => {
  app = await start();
});

/** A plaintext space with both partners in. */
async function plainPair(base = app.url) {
  const alex = await postJson<Seat & { inviteCode: string }>(
    '/api/spaces',
    { displayName: 'Alex' },
    base,
  );
  const sam = await postJson<Seat>(
    `/api/spaces/${alex.spaceId}/join`,
    { inviteCode: alex.inviteCode, displayName: 'Sam' },
    base,
  );
  return { alex, sam };
}

/** Two server processes over one storage, telling each other through one pub/sub. */
async function twoProcesses(): Promise<[RunningServer, RunningServer]> {
  const storage = new MemoryAdapter();
  const hub = new MemoryPubSubHub();
  return [
    await start({}, { storage, pubsub: new MemoryPubSub(hub) }),
    await start({}, { storage, pubsub: new MemoryPubSub(hub) }),
  ];
}

function leave(seat: Seat, headers: Record<string, string> = bearer(seat.token), base = app.url) {
  return fetch(`${base}/sync/${seat.spaceId}`, { method: 'DELETE', headers });
}

function whoAmI(seat: Seat): Promise<number> {
  return fetch(`${app.url}/sync/${seat.spaceId}`, { headers: bearer(seat.token) }).then(
    (r) => r.status,
  );
}

describe('DELETE /sync/:spaceId (a device leaves its space)', () => {
  it('revokes a sealed device for good, closes its open socket and expires its cookie; the partner stays', async () => {
    const { alex, sam, samKeys } = await sealedPair(app.url);
    const socket = await openSocket(app.url, sam, [SEALED_SUBPROTOCOL]);
    const partnerSocket = await openSocket(app.url, alex, [SEALED_SUBPROTOCOL]);

    const response = await leave(sam);
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toBe(
      `mend_${sam.spaceId}=; Max-Age=0; Path=/sync/${sam.spaceId}; HttpOnly; SameSite=Strict`,
    );
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await socket.closed).toBe(CloseCode.revoked);

    expect(await whoAmI(sam)).toBe(401);
    expect(await whoAmI(alex)).toBe(200);
    // The device keeps its seat and its place in the partners' membership log.
    const devices = await app.storage.listDevices(sam.spaceId as SpaceId);
    expect(devices.map((d) => b64(d.signingKey))).toContain(samKeys.signingKey);
    // Its token opens nothing any more, and a second DELETE is refused like any unknown token.
    await expect(openSocket(app.url, sam, [SEALED_SUBPROTOCOL])).rejects.toThrow('refused 401');
    expect((await leave(sam)).status).toBe(401);
    // The partner's socket was left alone.
    expect(partnerSocket.ws.readyState).toBe(WebSocket.OPEN);
    partnerSocket.ws.close();
  });

  it('does not give a removed device a new token through a retried join', async () => {
    const inviteCode = b64(randomBytes(16));
    const alex = await postJson<Seat>(
      '/api/sealed-spaces',
      { ...deviceKeys(), inviteCode, welcome: b64(randomBytes(100)) },
      app.url,
    );
    const joinCode = b64(randomBytes(16));
    await postJson(`/api/sealed-spaces/${alex.spaceId}/welcome`, { inviteCode, joinCode }, app.url);
    const keys = deviceKeys();
    const sam = await postJson<Seat>(
      `/api/sealed-spaces/${alex.spaceId}/join`,
      { inviteCode: joinCode, ...keys },
      app.url,
    );
    expect((await leave(sam)).status).toBe(204);
    const retried = await fetch(`${app.url}/api/sealed-spaces/${alex.spaceId}/join`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ inviteCode: joinCode, ...keys }),
    });
    expect(retried.status).toBe(409);
    expect(retried.headers.get('set-cookie')).toBeNull();
  });

  it('clears a plaintext partner’s token and closes their socket; the partner stays in the space', async () => {
    const { alex, sam } = await plainPair();
    const socket = await openSocket(app.url, sam, []);
    expect((await leave(sam)).status).toBe(204);
    expect(await socket.closed).toBe(CloseCode.revoked);
    expect(await whoAmI(sam)).toBe(401);
    expect(await whoAmI(alex)).toBe(200);
    const partners = await app.storage.listPartners(sam.spaceId as SpaceId);
    expect(partners.map((p) => p.partnerId)).toContain(sam.partnerId);
  });

  it('closes the sealed device’s sockets on every process within a second, and only its own', async () => {
    const [one, two] = await twoProcesses();
    const { alex, sam } = await sealedPair(one.url);
    const samHere = await openSocket(one.url, sam, [SEALED_SUBPROTOCOL]);
    const samThere = await openSocket(two.url, sam, [SEALED_SUBPROTOCOL]);
    const alexHere = await openSocket(one.url, alex, [SEALED_SUBPROTOCOL]);
    const alexThere = await openSocket(two.url, alex, [SEALED_SUBPROTOCOL]);

    expect((await leave(sam, bearer(sam.token), one.url)).status).toBe(204);
    const closed = Promise.all([samHere.closed, samThere.closed]);
    expect(await withinASecond(closed)).toEqual([CloseCode.revoked, CloseCode.revoked]);
    expect([alexHere.ws.readyState, alexThere.ws.readyState]).toEqual([
      WebSocket.OPEN,
      WebSocket.OPEN,
    ]);
    alexHere.ws.close();
    alexThere.ws.close();
  });

  it('closes the plaintext partner’s sockets on every process within a second, and only theirs', async () => {
    const [one, two] = await twoProcesses();
    const { alex, sam } = await plainPair(one.url);
    const samHere = await openSocket(one.url, sam, []);
    const samThere = await openSocket(two.url, sam, []);
    const alexThere = await openSocket(two.url, alex, []);

    expect((await leave(sam, bearer(sam.token), one.url)).status).toBe(204);
    const closed = Promise.all([samHere.closed, samThere.closed]);
    expect(await withinASecond(closed)).toEqual([CloseCode.revoked, CloseCode.revoked]);
    expect(alexThere.ws.readyState).toBe(WebSocket.OPEN);
    alexThere.ws.close();
  });

  it('takes the cookie only with the server’s own Origin, which a browser always sends on a DELETE', async () => {
    const { sam } = await sealedPair(app.url);
    const cookie = { Cookie: `mend_${sam.spaceId}=${sam.token}` };
    expect((await leave(sam, cookie)).status).toBe(403);
    expect((await leave(sam, { ...cookie, Origin: 'http://evil.example' })).status).toBe(403);
    expect(await whoAmI(sam)).toBe(200);
    const own = await leave(sam, { ...cookie, Origin: app.url });
    expect(own.status).toBe(204);
    expect(await whoAmI(sam)).toBe(401);
  });

  it('answers 404 for no such space, 401 without or with an unknown token, 403 for another space’s token', async () => {
    const { alex } = await sealedPair(app.url);
    const other = await sealedPair(app.url);
    expect((await leave({ ...alex, spaceId: 'NoSuchSpace_0123456789' })).status).toBe(404);
    expect((await leave(alex, {})).status).toBe(401);
    expect((await leave(alex, bearer(b64(randomBytes(32))))).status).toBe(401);
    expect((await leave({ ...alex, token: other.sam.token })).status).toBe(403);
    expect(await whoAmI(other.sam)).toBe(200);
    const put = await fetch(`${app.url}/sync/${alex.spaceId}`, {
      method: 'PUT',
      headers: bearer(alex.token),
    });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, DELETE');
  });

  it('marks the expired cookie Secure when the create would have', async () => {
    const secure = await start({ publicOrigin: 'https://mend.example' });
    const { sam } = await sealedPair(secure.url);
    const response = await leave(sam, bearer(sam.token), secure.url);
    expect(response.status).toBe(204);
    expect(response.headers.get('set-cookie')).toBe(
      `mend_${sam.spaceId}=; Max-Age=0; Path=/sync/${sam.spaceId}; HttpOnly; SameSite=Strict; Secure`,
    );
  });
});
