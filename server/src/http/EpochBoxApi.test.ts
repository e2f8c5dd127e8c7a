import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { SpaceId } from '@mend/protocol';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import type { DeviceRecord } from '../storage/StorageAdapter.js';
import {
  b64,
  bearer,
  httpTestServers,
  linkedDevice,
  postJson,
  sealedPair,
  statusAndError,
  type Device,
  type RunningServer,
  type Seat,
} from './httpApi.testkit.js';

const servers = httpTestServers();
let app: RunningServer;

beforeAll(async () => {
  app = await servers.start();
});

const BAD_BOXES = 'The new key for this space’s devices could not be sent. Please try again.';

const boxesPath = (spaceId: string, at: 'api' | 'sync' = 'sync') =>
  at === 'api' ? `/api/sealed-spaces/${spaceId}/epoch-boxes` : `/sync/${spaceId}/epoch-boxes`;

/** A box of the size an epoch box has (32 + 24 + 70 + 16 bytes), base64url. */
const box = (bytes = 142) => b64(randomBytes(bytes));

function putBoxes(
  by: Seat,
  body: unknown,
  headers: Record<string, string> = bearer(by.token),
  { base = app.url, at = 'sync' as 'api' | 'sync' } = {},
): Promise<Response> {
  return fetch(`${base}${boxesPath(by.spaceId, at)}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function getBoxes(
  by: Seat,
  headers: Record<string, string> = bearer(by.token),
  { base = app.url, at = 'sync' as 'api' | 'sync' } = {},
): Promise<Response> {
  return fetch(`${base}${boxesPath(by.spaceId, at)}`, { headers });
}

async function boxesOf(by: Seat, base = app.url): Promise<{ epoch: number; box: string }[]> {
  const response = await getBoxes(by, bearer(by.token), { base });
  expect(response.status).toBe(200);
  return ((await response.json()) as { boxes: { epoch: number; box: string }[] }).boxes;
}

describe('PUT and GET /sync/:spaceId/epoch-boxes (catching up across a key change)', () => {
  it('keeps each device’s box and gives every device its own: 204, then 200 with the boxes', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const phone = await linkedDevice(app.url, alex);
    const boxes = [alex, sam, phone].map((d) => ({ signingKey: d.signingKey, box: box() }));
    const put = await putBoxes(alex, { epoch: 2, boxes });
    expect(put.status).toBe(204);
    expect(await put.text()).toBe('');
    expect(put.headers.get('cache-control')).toBe('no-store');

    const got = await getBoxes(sam);
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(await got.json()).toEqual({ boxes: [{ epoch: 2, box: boxes[1]?.box }] });
    expect(await boxesOf(phone)).toEqual([{ epoch: 2, box: boxes[2]?.box }]);
    expect(await boxesOf(alex)).toEqual([{ epoch: 2, box: boxes[0]?.box }]);
    // A device nobody left a box for: an empty list.
    const other = await sealedPair(app.url);
    expect(await boxesOf(other.sam)).toEqual([]);
  });

  it('keeps the highest epoch per device and four writers of it; a lower epoch, a fifth writer or a removed device is not an error', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const writers = [
      alex,
      sam,
      await linkedDevice(app.url, alex),
      await linkedDevice(app.url, sam),
    ];
    const fifth = await linkedDevice(app.url, alex);
    const forSam = (epoch: number) => ({
      epoch,
      boxes: [{ signingKey: sam.signingKey, box: box() }],
    });

    const three = forSam(3);
    expect((await putBoxes(alex, three)).status).toBe(204);
    expect((await putBoxes(alex, forSam(2))).status).toBe(204);
    expect(await boxesOf(sam)).toEqual([{ epoch: 3, box: three.boxes[0]?.box }]);

    const four = writers.map(() => forSam(4));
    for (const [i, writer] of writers.entries()) {
      expect((await putBoxes(writer, four[i])).status).toBe(204);
    }
    expect((await putBoxes(fifth, forSam(4))).status).toBe(204);
    const held = (await boxesOf(sam)).map((b) => b.box).sort();
    expect(held).toEqual(four.map((f) => f.boxes[0]?.box).sort());
    // The same writer again replaces its own.
    const again = forSam(4);
    expect((await putBoxes(alex, again)).status).toBe(204);
    const replaced = [again, ...four.slice(1)].map((f) => f.boxes[0]?.box).sort();
    expect((await boxesOf(sam)).map((b) => b.box).sort()).toEqual(replaced);

    // A device removed meanwhile is skipped: the others' boxes are kept.
    const removed = await fetch(`${app.url}/sync/${alex.spaceId}/devices/${fifth.signingKey}`, {
      method: 'DELETE',
      headers: bearer(alex.token),
    });
    expect(removed.status).toBe(204);
    const five = {
      epoch: 5,
      boxes: [
        { signingKey: fifth.signingKey, box: box() },
        { signingKey: b64(randomBytes(32)), box: box() },
        { signingKey: sam.signingKey, box: box() },
      ],
    };
    expect((await putBoxes(alex, five)).status).toBe(204);
    expect(await boxesOf(sam)).toEqual([{ epoch: 5, box: five.boxes[2]?.box }]);
    const space = alex.spaceId as SpaceId;
    expect(await app.storage.epochBoxes.epochBoxesOf(space, bytesOf(fifth.signingKey))).toEqual([]);
  });

  it('deletes a device’s boxes when it is removed or leaves', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const phone = await linkedDevice(app.url, sam);
    const boxes = [alex, sam, phone].map((d) => ({ signingKey: d.signingKey, box: box() }));
    expect((await putBoxes(alex, { epoch: 2, boxes })).status).toBe(204);
    const space = alex.spaceId as SpaceId;
    const stored = (device: Device) =>
      app.storage.epochBoxes.epochBoxesOf(space, bytesOf(device.signingKey));
    expect(await stored(phone)).toHaveLength(1);

    const removed = await fetch(`${app.url}/sync/${alex.spaceId}/devices/${phone.signingKey}`, {
      method: 'DELETE',
      headers: bearer(alex.token),
    });
    expect(removed.status).toBe(204);
    expect(await stored(phone)).toEqual([]);
    expect((await getBoxes(phone)).status).toBe(401);

    const left = await fetch(`${app.url}/sync/${sam.spaceId}`, {
      method: 'DELETE',
      headers: bearer(sam.token),
    });
    expect(left.status).toBe(204);
    expect(await stored(sam)).toEqual([]);
    expect(await boxesOf(alex)).toHaveLength(1);
  });

  it('takes the boxes at /sync with the cookie and the own Origin, and at /api with a Bearer token; GET takes a cookie without an Origin', async () => {
    const { alex, sam } = await sealedPair(app.url);
    const body = { epoch: 2, boxes: [{ signingKey: sam.signingKey, box: box() }] };
    const cookie = { Cookie: `mend_${alex.spaceId}=${alex.token}` };
    expect((await putBoxes(alex, body, cookie)).status).toBe(403);
    expect((await putBoxes(alex, body, { ...cookie, Origin: 'http://evil.example' })).status).toBe(
      403,
    );
    const crossSite = { ...cookie, 'Sec-Fetch-Site': 'cross-site' };
    expect((await putBoxes(alex, body, crossSite)).status).toBe(403);
    expect(await boxesOf(sam)).toEqual([]);
    expect((await putBoxes(alex, body, { ...cookie, Origin: app.url })).status).toBe(204);
    const fromApi = { epoch: 3, boxes: [{ signingKey: sam.signingKey, box: box() }] };
    expect((await putBoxes(alex, fromApi, bearer(alex.token), { at: 'api' })).status).toBe(204);

    const samsCookie = { Cookie: `mend_${sam.spaceId}=${sam.token}` };
    const got = await getBoxes(sam, samsCookie);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual({ boxes: [{ epoch: 3, box: fromApi.boxes[0]?.box }] });
    expect((await getBoxes(sam, { ...samsCookie, Origin: 'http://evil.example' })).status).toBe(
      403,
    );
    expect((await getBoxes(sam, { ...samsCookie, 'Sec-Fetch-Site': 'cross-site' })).status).toBe(
      403,
    );
    expect((await getBoxes(sam, bearer(sam.token), { at: 'api' })).status).toBe(200);
  });

  describe('refuses', () => {
    it('checks the credentials first, before the body: 404 no space, 401 none or unknown, 403 another space’s, 409 a plaintext space', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const other = await sealedPair(app.url);
      const good = { epoch: 2, boxes: [{ signingKey: sam.signingKey, box: box() }] };
      const noSpace = { ...alex, spaceId: 'NoSuchSpace_0123456789' };
      for (const body of [good, 'not json']) {
        const missing = await putBoxes(noSpace, body);
        expect(missing.status).toBe(404);
        expect(missing.headers.get('connection')).toBe('close');
        expect((await putBoxes(alex, body, {})).status).toBe(401);
        expect((await putBoxes(alex, body, bearer(b64(randomBytes(32))))).status).toBe(401);
        expect((await putBoxes(alex, body, bearer(other.alex.token))).status).toBe(403);
      }
      expect((await getBoxes(noSpace)).status).toBe(404);
      expect((await getBoxes(alex, {})).status).toBe(401);
      expect((await getBoxes(alex, bearer(other.alex.token))).status).toBe(403);

      const plain = await postJson<Seat>('/api/spaces', { displayName: 'Robin' }, app.url);
      const [plainPut, plainError] = await statusAndError(await putBoxes(plain, good));
      expect([plainPut, plainError]).toEqual([
        409,
        'This space is not end-to-end encrypted yet, so its devices cannot be managed this way.',
      ]);
      expect((await getBoxes(plain)).status).toBe(409);
      expect(await boxesOf(sam)).toEqual([]);
    });

    it('a body that is not as described 400 with one sentence, a body over 64 KiB 413', async () => {
      const { alex, sam } = await sealedPair(app.url);
      const one = (over: object = {}) => ({ signingKey: sam.signingKey, box: box(), ...over });
      const bad: unknown[] = [
        { boxes: [one()] },
        { epoch: 1, boxes: [one()] },
        { epoch: 0, boxes: [one()] },
        { epoch: 2.5, boxes: [one()] },
        { epoch: '3', boxes: [one()] },
        { epoch: 2 },
        { epoch: 2, boxes: [] },
        { epoch: 2, boxes: {} },
        {
          epoch: 2,
          boxes: Array.from({ length: 65 }, () => one({ signingKey: b64(randomBytes(32)) })),
        },
        { epoch: 2, boxes: [one({ signingKey: b64(randomBytes(31)) })] },
        { epoch: 2, boxes: [one({ signingKey: undefined })] },
        { epoch: 2, boxes: [one({ box: '' })] },
        { epoch: 2, boxes: [one({ box: box(513) })] },
        { epoch: 2, boxes: [one({ box: `${box(10)}=` })] },
        // Not written the one canonical way (stray trailing bits).
        { epoch: 2, boxes: [one({ box: `${b64(randomBytes(10)).slice(0, -1)}B` })] },
        { epoch: 2, boxes: [one(), one()] },
      ];
      for (const body of bad) {
        expect(await statusAndError(await putBoxes(alex, body))).toEqual([400, BAD_BOXES]);
      }
      expect((await putBoxes(alex, '[1, 2]')).status).toBe(400);
      expect((await putBoxes(alex, 'not json')).status).toBe(400);
      expect(await boxesOf(sam)).toEqual([]);

      const tooLarge = await putBoxes(alex, { epoch: 2, boxes: [one()], pad: 'x'.repeat(65_536) });
      expect(tooLarge.status).toBe(413);
      // The largest body described: 64 boxes of 512 bytes, one of them for Sam.
      const largest = {
        epoch: 2 ** 40,
        boxes: [
          one({ box: box(512) }),
          ...Array.from({ length: 63 }, () => ({
            signingKey: b64(randomBytes(32)),
            box: box(512),
          })),
        ],
      };
      expect((await putBoxes(alex, largest)).status).toBe(204);
      expect(await boxesOf(sam)).toEqual([{ epoch: 2 ** 40, box: largest.boxes[0]?.box }]);
    });

    it('401 for a caller removed while its request was on its way, storing nothing', async () => {
      const storage = new RevokedOnTheWay();
      const midway = await servers.start({}, { storage });
      const { alex, sam } = await sealedPair(midway.url);
      storage.revokeNext = true;
      const body = { epoch: 2, boxes: [{ signingKey: sam.signingKey, box: box() }] };
      const [status, error] = await statusAndError(
        await putBoxes(alex, body, bearer(alex.token), { base: midway.url }),
      );
      expect([status, error]).toEqual([401, 'This device is no longer part of this space.']);
      expect(await boxesOf(sam, midway.url)).toEqual([]);
    });

    it('takes only GET and PUT, at no path below', async () => {
      const { alex } = await sealedPair(app.url);
      for (const at of ['sync', 'api'] as const) {
        const posted = await fetch(`${app.url}${boxesPath(alex.spaceId, at)}`, {
          method: 'POST',
          headers: bearer(alex.token),
        });
        expect([posted.status, posted.headers.get('allow')]).toEqual([405, 'GET, PUT']);
        const below = await fetch(`${app.url}${boxesPath(alex.spaceId, at)}/more`, {
          headers: bearer(alex.token),
        });
        expect(below.status).toBe(404);
      }
    });
  });

  it('logs and counts each put with the space, never a box or a key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const logged = await servers.start({ metricsPort: 0 }, { log: pino({ level: 'debug' }, sink) });
    const { alex, sam } = await sealedPair(logged.url);
    const boxes = [alex, sam].map((d) => ({ signingKey: d.signingKey, box: box() }));
    expect(
      (await putBoxes(alex, { epoch: 2, boxes }, bearer(alex.token), { base: logged.url })).status,
    ).toBe(204);
    expect(await boxesOf(sam, logged.url)).toHaveLength(1);
    const metrics = await (
      await fetch(`http://127.0.0.1:${logged.metricsPort ?? 0}/metrics`)
    ).text();
    expect(metrics).toContain('mend_device_roster_total{event="epoch-boxes"} 1');

    const text = lines.join('');
    for (const secret of [
      ...boxes.map((b) => b.box),
      sam.signingKey,
      alex.signingKey,
      alex.token,
    ]) {
      expect(text).not.toContain(secret);
      expect(metrics).not.toContain(secret);
    }
    const put = lines
      .map((line) => JSON.parse(line) as { msg: string; spaceId?: string; kept?: number })
      .find((line) => line.msg === 'device roster: epoch-boxes');
    expect(put).toMatchObject({ spaceId: alex.spaceId, epoch: 2, kept: 2, ignored: 0, skipped: 0 });
  });
});

function bytesOf(base64Url: string): Uint8Array {
  return new Uint8Array(Buffer.from(base64Url, 'base64url'));
}

/**
 * Memory storage that, once armed, revokes the device a token names right after finding it: the
 * request passes the credential check and meets a removed device in storage, as when another
 * device removes it while the request is on its way.
 */
class RevokedOnTheWay extends MemoryAdapter {
  revokeNext = false;

  override async findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null> {
    const device = await super.findDeviceByTokenHash(tokenHash);
    if (device && this.revokeNext) {
      this.revokeNext = false;
      await this.revokeDevice(device.spaceId, device.signingKey, Date.now());
    }
    return device;
  }
}
