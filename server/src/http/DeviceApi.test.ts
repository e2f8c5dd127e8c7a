import { randomBytes } from 'node:crypto';
import { CloseCode } from '@mend/protocol';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryPubSub, MemoryPubSubHub } from '../pubsub/MemoryPubSub.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import {
  b64,
  bearer,
  httpTestServers,
  linkedDevice,
  openSocket,
  postJson,
  sealedPair,
  statusAndError,
  withinASecond,
  type RunningServer,
  type Seat,
} from './httpApi.testkit.js';

const servers = httpTestServers();
/**
 * The clock devices are seen and linked by: tests move it forward, never back. It starts at the
 * real time, which creates and joins use, so the list keeps the order devices were added in.
 */
let clock = Date.now();
let app: RunningServer;

beforeAll(async () => {
  app = await servers.start({}, { now: () => clock });
});

const devicesPath = (spaceId: string, base: 'api' | 'sync' = 'sync') =>
  base === 'api' ? `/api/sealed-spaces/${spaceId}/devices` : `/sync/${spaceId}/devices`;

function remove(
  by: Seat,
  signingKey: string,
  headers: Record<string, string> = bearer(by.token),
  { base = app.url, at = 'sync' as 'api' | 'sync' } = {},
): Promise<Response> {
  return fetch(`${base}${devicesPath(by.spaceId, at)}/${signingKey}`, {
    method: 'DELETE',
    headers,
  });
}

function list(
  by: Seat,
  headers: Record<string, string> = bearer(by.token),
  at: 'api' | 'sync' = 'sync',
) {
  return fetch(`${app.url}${devicesPath(by.spaceId, at)}`, { headers });
}

function whoAmI(seat: Seat, base = app.url): Promise<number> {
  return fetch(`${base}/sync/${seat.spaceId}`, { headers: bearer(seat.token) }).then(
    (r) => r.status,
  );
}

interface Listed {
  signingKey: string;
  partnerId: string;
  addedAt: string;
  lastSeenAt: string | null;
  removedAt: string | null;
  recovery: boolean;
}

async function listed(by: Seat): Promise<Listed[]> {
  const response = await list(by);
  expect(response.status).toBe(200);
  return ((await response.json()) as { devices: Listed[] }).devices;
}

describe('DELETE /sync/:spaceId/devices/:signingKey (a device removes another)', () => {
  it('removes a device of the same seat: 204, its socket closes with 4401, its token is dead; the others stay', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const phone = await linkedDevice(app.url, alex);
    const phoneSocket = await openSocket(app.url, phone);
    const samSocket = await openSocket(app.url, sam);

    const removed = await remove(alex, phone.signingKey);
    expect(removed.status).toBe(204);
    expect(await removed.text()).toBe('');
    expect(removed.headers.get('cache-control')).toBe('no-store');
    expect(removed.headers.get('set-cookie')).toBeNull();
    expect(await phoneSocket.closed).toBe(CloseCode.revoked);
    expect(await whoAmI(phone)).toBe(401);
    expect([await whoAmI(alex), await whoAmI(sam)]).toEqual([200, 200]);
    expect(samSocket.ws.readyState).toBe(WebSocket.OPEN);
    samSocket.ws.close();

    // Asked who it is, the removed device is told so (its page clears the space); a token the
    // server never knew learns nothing of the kind.
    const told = await fetch(`${app.url}/sync/${phone.spaceId}`, { headers: bearer(phone.token) });
    expect(await told.json()).toEqual({
      error: 'This device was removed from this space.',
      removed: true,
    });
    const stranger = await fetch(`${app.url}/sync/${phone.spaceId}`, {
      headers: bearer(b64(randomBytes(32))),
    });
    expect(stranger.status).toBe(401);
    expect(await stranger.json()).not.toHaveProperty('removed');

    // Sent again after a lost answer: the same 204.
    expect((await remove(alex, phone.signingKey)).status).toBe(204);
    const removedAt = (await listed(alex)).find(
      (d) => d.signingKey === phone.signingKey,
    )?.removedAt;
    expect(removedAt).toBe(new Date(clock).toISOString());
  });

  it('lets a partner remove the other partner’s device in an emergency, at the /api address too', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const samSocket = await openSocket(app.url, sam);
    expect((await remove(alex, sam.signingKey, bearer(alex.token), { at: 'api' })).status).toBe(
      204,
    );
    expect(await samSocket.closed).toBe(CloseCode.revoked);
    expect(await whoAmI(sam)).toBe(401);
    // The removed device can remove nobody.
    expect((await remove(sam, alex.signingKey)).status).toBe(401);
    expect(await whoAmI(alex)).toBe(200);
  });

  it('closes the removed device’s sockets on every process within a second, and only its own', async () => {
    const storage = new MemoryAdapter();
    const hub = new MemoryPubSubHub();
    const one = await servers.start({}, { storage, pubsub: new MemoryPubSub(hub) });
    const two = await servers.start({}, { storage, pubsub: new MemoryPubSub(hub) });
    const { alex, sam } = await sealedPair(one.url);
    const samHere = await openSocket(one.url, sam);
    const samThere = await openSocket(two.url, sam);
    const alexThere = await openSocket(two.url, alex);

    expect((await remove(alex, sam.signingKey, bearer(alex.token), { base: one.url })).status).toBe(
      204,
    );
    const closed = Promise.all([samHere.closed, samThere.closed]);
    expect(await withinASecond(closed)).toEqual([CloseCode.revoked, CloseCode.revoked]);
    expect(alexThere.ws.readyState).toBe(WebSocket.OPEN);
    alexThere.ws.close();
  });

  it('answers 404 for an unknown device, 409 for the caller itself and for a plaintext space', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const other = await sealedPair(app.url);
    const [unknown, unknownError] = await statusAndError(await remove(alex, b64(randomBytes(32))));
    expect([unknown, unknownError]).toEqual([
      404,
      'This device is not part of this space. Please reload the list of devices.',
    ]);
    expect((await remove(alex, 'not-a-key')).status).toBe(404);
    // Not written the one canonical way (stray trailing bits): names no key.
    expect((await remove(alex, `${sam.signingKey.slice(0, -1)}B`)).status).toBe(404);
    expect((await remove(alex, other.sam.signingKey)).status).toBe(404);
    const [self, selfError] = await statusAndError(await remove(alex, alex.signingKey));
    expect(self).toBe(409);
    expect(selfError).toMatch(/Remove Mend from this device/);

    const plain = await postJson<Seat>('/api/spaces', { displayName: 'Robin' }, app.url);
    const [plain409, plainError] = await statusAndError(await remove(plain, sam.signingKey));
    expect(plain409).toBe(409);
    expect(plainError).toMatch(/not end-to-end encrypted/);
    expect([await whoAmI(alex), await whoAmI(sam)]).toEqual([200, 200]);
  });

  it('checks the credentials first: 404 no space, 401 none or unknown, 403 another space’s, a cookie only with the own Origin', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const other = await sealedPair(app.url);
    expect(
      (await remove({ ...alex, spaceId: 'NoSuchSpace_0123456789' }, sam.signingKey)).status,
    ).toBe(404);
    expect((await remove(alex, sam.signingKey, {})).status).toBe(401);
    expect((await remove(alex, sam.signingKey, bearer(b64(randomBytes(32))))).status).toBe(401);
    expect((await remove(alex, sam.signingKey, bearer(other.alex.token))).status).toBe(403);
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}` };
    expect((await remove(alex, sam.signingKey, cookie)).status).toBe(403);
    expect(
      (await remove(alex, sam.signingKey, { ...cookie, Origin: 'http://evil.example' })).status,
    ).toBe(403);
    expect(await whoAmI(sam)).toBe(200);
    expect((await remove(alex, sam.signingKey, { ...cookie, Origin: app.url })).status).toBe(204);
    expect(await whoAmI(sam)).toBe(401);
  });

  it('takes only the methods a path has', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const one = await fetch(`${app.url}${devicesPath(alex.spaceId)}/${sam.signingKey}`, {
      headers: bearer(alex.token),
    });
    expect([one.status, one.headers.get('allow')]).toEqual([405, 'DELETE']);
    const all = await fetch(`${app.url}${devicesPath(alex.spaceId)}`, {
      method: 'DELETE',
      headers: bearer(alex.token),
    });
    expect([all.status, all.headers.get('allow')]).toEqual([405, 'GET']);
    const below = await fetch(`${app.url}${devicesPath(alex.spaceId)}/${sam.signingKey}/more`, {
      method: 'DELETE',
      headers: bearer(alex.token),
    });
    expect(below.status).toBe(404);
  });
});

describe('GET /sync/:spaceId/devices (the devices of a space)', () => {
  it('lists every device with its seat, when it was added and last seen, removed, and whether it is a recovery device', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const response = await list(alex);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({
      devices: [
        {
          signingKey: alex.signingKey,
          partnerId: alex.partnerId,
          addedAt: expect.any(String) as unknown,
          lastSeenAt: null,
          removedAt: null,
          recovery: false,
        },
        {
          signingKey: sam.signingKey,
          partnerId: sam.partnerId,
          addedAt: expect.any(String) as unknown,
          lastSeenAt: null,
          removedAt: null,
          recovery: false,
        },
      ],
    });

    clock += 60_000;
    const seenAt = new Date(clock).toISOString();
    const socket = await openSocket(app.url, sam);
    socket.ws.close();
    await socket.closed;
    clock += 60_000;
    const phone = await linkedDevice(app.url, alex);
    const devices = await listed(sam);
    expect(devices.map((d) => [d.signingKey, d.lastSeenAt])).toEqual([
      [alex.signingKey, null],
      [sam.signingKey, seenAt],
      [phone.signingKey, null],
    ]);
    expect(devices[2]?.addedAt).toBe(new Date(clock).toISOString());
    expect(devices[2]?.partnerId).toBe(alex.partnerId);
    expect(devices[0]?.addedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('takes a same-origin cookie without an Origin, at both addresses; refuses a plaintext space 409', async () => {
    const { alex } = await sealedPair(app.url);
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}` };
    expect((await list(alex, cookie)).status).toBe(200);
    expect((await list(alex, { ...cookie, Origin: 'http://evil.example' })).status).toBe(403);
    expect((await list(alex, bearer(alex.token), 'api')).status).toBe(200);
    expect((await list(alex, {})).status).toBe(401);
    const plain = await postJson<Seat>('/api/spaces', { displayName: 'Robin' }, app.url);
    expect((await list(plain)).status).toBe(409);
  });
});
