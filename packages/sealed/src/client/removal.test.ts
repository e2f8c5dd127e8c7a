import { listPartners, setDisplayName } from '@mend/model';
import { decodeEnvelope, SealedMessage } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.js';
import { newDeviceIdentity } from '../identity.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { COOKIE_TOKEN } from './conversion.js';
import { SealedApiError } from './http.js';
import { decodeMembership } from './membershipCodec.js';
import {
  leaveWithNewKey,
  removeDevice,
  RemovalError,
  RemovalErrorReason,
  rotateKeys,
} from './removal.js';
import { rotatesAfterJoin } from './afterJoin.js';
import { SealedSession } from './SealedSession.js';
import { FakeDeviceRoutes } from './testing/deviceRoutes.js';
import type { FakeSocket } from './testing/fakeServer.js';
import { until } from './testing/fakeServer.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  linkedDevice,
  SAM,
  spaceId,
} from './testing/sealedSpace.js';
import { pageOf, sessionWorld } from './testing/session.js';

const opened: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

/** Alex's phone (a session, synced), Alex's laptop linked and announced, Sam; the device routes. */
async function world() {
  const w = await sessionWorld();
  const laptop = linkedDevice(w.alex);
  w.sam.sync();
  const caller = { partnerId: ALEX, device: toBase64Url(w.alex.identity.signing.publicKey) };
  const routes = new FakeDeviceRoutes(
    new Set([w.alex, w.sam, laptop].map((d) => toBase64Url(d.identity.signing.publicKey))),
    { token: caller, cookie: caller },
  );
  const phone = await pageOf(w, opened);
  await until(() => phone.provider.synced, 'the phone to sync');
  const options = { fetch: routes.fetch, retryPausesMs: [0, 0, 0] };
  return { ...w, laptop, routes, phone, options };
}

const storedEpochs = async (indexedDB: IDBFactory) => {
  const store = await LocalSpaceStore.open(spaceId, { indexedDB });
  try {
    const secrets = (await store.load()).secrets!;
    return decodeMembership(secrets)
      .keyring.toStored()
      .epochs.map((e) => e.epoch);
  } finally {
    store.close();
  }
};

describe('removing a device (the removing device’s side)', () => {
  it('revokes it on the server, moves the space to epoch 2 without it, keeps the key and snapshots under it', async () => {
    const w = await world();
    const laptopKey = w.laptop.identity.signing.publicKey;
    const result = await removeDevice(w.phone, laptopKey, w.options);
    expect(w.routes.requests).toEqual([
      {
        method: 'DELETE',
        path: `/api/sealed-spaces/${spaceId}/devices/${toBase64Url(laptopKey)}`,
        authorization: 'Bearer token',
        body: null,
      },
      {
        method: 'PUT',
        path: `/api/sealed-spaces/${spaceId}/epoch-boxes`,
        authorization: 'Bearer token',
        body: { epoch: 2, boxes: expect.any(Array) },
      },
    ]);
    expect(result).toMatchObject({ epoch: 2, snapshotStored: false, boxesLeft: true });
    // The same boxes as the statement's, for every device that stays: the phone and Sam's.
    const statement = w.phone.replica.standing.epochs.at(-1)!.epoch;
    expect((w.routes.requests[1]!.body as { boxes: unknown }).boxes).toEqual(
      statement.boxes.map((b) => ({
        signingKey: toBase64Url(b.signingKey),
        box: toBase64Url(b.box),
      })),
    );
    expect([...w.routes.boxes.keys()]).toEqual(
      [w.alex, w.sam].map((d) => toBase64Url(d.identity.signing.publicKey)),
    );
    expect(result.snapshotCovers).toBeGreaterThanOrEqual(result.seq!);
    expect(w.phone.replica.standing.removedAt(toBase64Url(laptopKey))).toBe(result.seq);
    expect(w.phone.membership.keyring.latest?.epoch).toBe(2);
    expect(await storedEpochs(w.factory)).toEqual([1, 2]);

    // The snapshot went out sealed under the new epoch, covering the statement.
    const snapshot = w.server.sockets.flatMap((s) => s.snapshots()).at(-1)!;
    const header = decodeEnvelope(snapshot);
    expect(header.epoch).toBe(2);
    expect(header.covers!.seq).toBeGreaterThanOrEqual(result.seq!);

    // Sam's device takes it in and opens its key; the laptop has none, and is out.
    w.sam.sync();
    w.laptop.sync();
    expect(w.sam.replica.setAside).toEqual([]);
    expect(w.sam.keyring.get(2)?.spaceKey).toEqual(w.phone.membership.keyring.get(2)?.spaceKey);
    expect(w.laptop.keyring.get(2)).toBeUndefined();

    // What the phone writes now is sealed under epoch 2 and reaches Sam, not the laptop.
    setDisplayName(w.phone.replica.doc, { partnerId: ALEX, displayName: 'Alex, after' });
    await until(() => w.phone.waiting === 0, 'the edit to be stored');
    const last = w.server.log.entries.at(-1)!;
    expect(decodeEnvelope(last).epoch).toBe(2);
    w.sam.sync();
    w.laptop.sync();
    expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Alex, after');
    expect(listPartners(w.laptop.doc)[0]?.displayName).toBe('Alex');
  });

  it('sends the DELETE again after a lost answer, and takes the second 204', async () => {
    const w = await world();
    w.routes.loseNextAnswer = true;
    const result = await removeDevice(w.phone, w.laptop.identity.signing.publicKey, w.options);
    expect(w.routes.requests.map((r) => r.method)).toEqual(['DELETE', 'DELETE', 'PUT']);
    expect(result.epoch).toBe(2);
  });

  it('uses the cookie on the sync path when the membership has no token', async () => {
    const w = await world();
    const cookieSession = {
      membership: { ...w.phone.membership, token: COOKIE_TOKEN },
      provider: w.phone.provider,
      replica: w.phone.replica,
      keepKeys: () => w.phone.keepKeys(),
    };
    await removeDevice(cookieSession, w.laptop.identity.signing.publicKey, w.options);
    expect(
      w.routes.requests.map(({ method, path, authorization }) => ({ method, path, authorization })),
    ).toEqual([
      {
        method: 'DELETE',
        path: `/sync/${spaceId}/devices/${toBase64Url(w.laptop.identity.signing.publicKey)}`,
        authorization: null,
      },
      { method: 'PUT', path: `/sync/${spaceId}/epoch-boxes`, authorization: null },
    ]);
  });

  it('says clearly when the server knows no such device, and writes nothing', async () => {
    const w = await world();
    const routes = new FakeDeviceRoutes(new Set(), {
      token: { partnerId: ALEX, device: toBase64Url(w.alex.identity.signing.publicKey) },
    });
    const before = w.server.log.entries.length;
    const error = await removeDevice(w.phone, w.laptop.identity.signing.publicKey, {
      ...w.options,
      fetch: routes.fetch,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemovalError);
    expect((error as RemovalError).reason).toBe(RemovalErrorReason.unknownDevice);
    expect((error as RemovalError).message).toMatch(/not in this space/);
    expect(w.server.log.entries.length).toBe(before);
  });

  it('refuses to remove itself or a device its log does not list, before asking the server', async () => {
    const w = await world();
    const self = await removeDevice(w.phone, w.alex.identity.signing.publicKey, w.options).catch(
      (e: unknown) => e,
    );
    expect((self as RemovalError).reason).toBe(RemovalErrorReason.self);
    const stranger = new Uint8Array(32).fill(3);
    const unknown = await removeDevice(w.phone, stranger, w.options).catch((e: unknown) => e);
    expect((unknown as RemovalError).reason).toBe(RemovalErrorReason.unknownDevice);
    expect(w.routes.requests).toEqual([]);
  });

  it('writes its statement again on top of another device’s new epoch that came first', async () => {
    const w = await world();
    // Sam rotates the keys just as the phone removes the laptop: stored first, relayed late.
    w.routes.onDelete = () => {
      w.sam.sync();
      const { seq } = w.sam.newEpoch();
      w.server.relay(seq);
    };
    const result = await removeDevice(w.phone, w.laptop.identity.signing.publicKey, w.options);
    expect(result.epoch).toBe(3);
    w.sam.sync();
    expect(w.sam.replica.setAside.map((e) => e.reason)).toEqual(['refused']);
    expect(w.sam.replica.standing.epoch).toBe(3);
    expect(w.sam.replica.standing.removedAt(toBase64Url(w.laptop.identity.signing.publicKey))).toBe(
      result.seq,
    );
    expect(await storedEpochs(w.factory)).toEqual([1, 2, 3]);
  });

  it('leaves a removal another device made first as it is', async () => {
    const w = await world();
    const laptop = w.laptop.identity;
    w.routes.onDelete = () => {
      w.sam.sync();
      const { seq } = w.sam.newEpoch([laptop]);
      w.server.relay(seq);
    };
    const result = await removeDevice(w.phone, laptop.signing.publicKey, w.options);
    expect(result).toEqual({
      epoch: null,
      seq: null,
      snapshotCovers: null,
      snapshotStored: false,
      boxesLeft: null,
    });
    expect(w.phone.replica.standing.epoch).toBe(2);
    expect(
      w.phone.replica.standing.removedAt(toBase64Url(laptop.signing.publicKey)),
    ).not.toBeNull();
    await until(() => w.phone.membership.keyring.get(2) !== undefined, 'Sam’s key to open');
  });

  it('rotates the keys without removing anyone', async () => {
    const w = await world();
    const result = await rotateKeys(w.phone, w.options);
    expect(result.epoch).toBe(2);
    expect(w.routes.requests.map((r) => [r.method, r.path])).toEqual([
      ['PUT', `/api/sealed-spaces/${spaceId}/epoch-boxes`],
    ]);
    expect(result.boxesLeft).toBe(true);
    w.laptop.sync();
    expect(w.laptop.keyring.get(2)?.spaceKey).toEqual(w.phone.membership.keyring.get(2)?.spaceKey);
  });

  it('stands when the server will not take the boxes, says so, and the session sends them again once synced', async () => {
    const w = await world();
    w.routes.boxesStatus = 503;
    const result = await removeDevice(w.phone, w.laptop.identity.signing.publicKey, w.options);
    expect(result).toMatchObject({ epoch: 2, boxesLeft: false });
    expect(
      w.phone.replica.standing.removedAt(toBase64Url(w.laptop.identity.signing.publicKey)),
    ).toBe(result.seq);
    // Four tries: the first and three after a lost answer (503).
    expect(w.routes.requests.filter((r) => r.method === 'PUT')).toHaveLength(4);
    expect(w.routes.boxes.size).toBe(0);
    w.routes.boxesStatus = null;
    w.phone.disconnect();
    w.phone.connect();
    await until(() => w.routes.boxes.size === 2, 'the boxes to be left');
    const left = w.routes.boxes.get(toBase64Url(w.sam.identity.signing.publicKey));
    expect(left?.map((b) => b.epoch)).toEqual([2]);
  });
});

/**
 * Alex's tablet, linked but not yet opened: its membership saved for a first page load, and
 * the device routes answering as it. `expectLeft` checks a leave Sam's device takes in.
 */
async function tabletWorld() {
  const w = await sessionWorld();
  const tablet = newDeviceIdentity();
  w.alex.link(tablet);
  w.sam.sync();
  await SealedSession.saveMembership(
    { ...w.membership, identity: tablet, keyring: w.alex.keyring },
    { indexedDB: w.factory },
  );
  const me = toBase64Url(tablet.signing.publicKey);
  const caller = { partnerId: ALEX, device: me };
  const routes = new FakeDeviceRoutes(
    new Set([w.alex.identity, w.sam.identity, tablet].map((d) => toBase64Url(d.signing.publicKey))),
    { token: caller, cookie: caller },
  );
  const expectLeft = (page: SealedSession, result: Awaited<ReturnType<typeof leaveWithNewKey>>) => {
    expect(result).toMatchObject({ epoch: 2, boxesLeft: true });
    expect(page.replica.standing.removedAt(me)).toBe(result.seq);
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
    expect(w.sam.keyring.get(2)).toBeDefined();
    expect(w.sam.replica.devices().find((d) => d.signingKey === me)).toMatchObject({
      removedAt: result.seq,
      removedBy: me,
    });
  };
  return { w, tablet, options: { fetch: routes.fetch, retryPausesMs: [0, 0, 0] }, expectLeft };
}

describe('leaving the space (the leaving device’s side)', () => {
  const boxesPath = `/api/sealed-spaces/${spaceId}/epoch-boxes`;

  it('moves the space to a new key boxed to every other device, leaves the boxes, keeps nothing and seals no snapshot', async () => {
    const w = await world();
    const snapshotsBefore = w.server.sockets.flatMap((s) => s.snapshots()).length;
    const result = await leaveWithNewKey(w.phone, w.options);
    expect(result).toMatchObject({ epoch: 2, boxesLeft: true, snapshotCovers: null });
    expect(w.routes.requests.map((r) => [r.method, r.path])).toEqual([['PUT', boxesPath]]);
    const me = toBase64Url(w.alex.identity.signing.publicKey);
    expect([...w.routes.boxes.keys()].sort()).toEqual(
      [w.sam, w.laptop].map((d) => toBase64Url(d.identity.signing.publicKey)).sort(),
    );
    expect(w.phone.replica.standing.removedAt(me)).toBe(result.seq);
    // The log was moved on to the rules that allow a leave, just before it.
    expect(w.phone.replica.rulesVersion).toBe(2);
    expect(w.server.log.entries).toHaveLength(result.seq!);
    // The key was never this device's: not in its keyring, not in its store.
    expect(w.phone.membership.keyring.get(2)).toBeUndefined();
    expect(w.phone.replica.setAside).toEqual([]); // not boxed to it: nothing it failed to open
    expect(await storedEpochs(w.factory)).toEqual([1]);
    // A snapshot is sent once signed: one sealed now would be on its way by then.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(w.server.sockets.flatMap((s) => s.snapshots())).toHaveLength(snapshotsBefore);

    // Sam's device and the laptop take it in and open the key; the phone is out for both.
    w.sam.sync();
    w.laptop.sync();
    for (const d of [w.sam, w.laptop]) {
      expect(d.replica.setAside).toEqual([]);
      expect(d.keyring.get(2)).toBeDefined();
      expect(d.replica.devices().find((x) => x.signingKey === me)).toMatchObject({
        removedAt: result.seq,
        removedBy: me,
      });
    }
    expect(w.sam.keyring.get(2)?.spaceKey).toEqual(w.laptop.keyring.get(2)?.spaceKey);

    // Until the page is gone, what is written on it stays there: sent, every device would set it
    // aside and tell both partners.
    const entries = w.server.log.entries.length;
    setDisplayName(w.phone.replica.doc, { partnerId: ALEX, displayName: 'Alex, leaving' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(w.server.log.entries).toHaveLength(entries);
    expect(w.phone.waiting).toBe(0);
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
  });

  it('sends the boxes of its earlier leave again, and says so when the server will not take them', async () => {
    const w = await world();
    w.routes.boxesStatus = 503;
    const refused = await leaveWithNewKey(w.phone, w.options).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SealedApiError);
    expect(w.routes.boxes.size).toBe(0);
    const statements = w.phone.replica.standing.epochs.length;
    w.routes.boxesStatus = null;
    const again = await leaveWithNewKey(w.phone, w.options);
    expect(again).toMatchObject({ epoch: 2, boxesLeft: true });
    expect(w.phone.replica.standing.epochs).toHaveLength(statements); // no second statement
    const left = w.routes.boxes.get(toBase64Url(w.sam.identity.signing.publicKey));
    expect(left?.map((b) => b.epoch)).toEqual([2]);
    w.sam.sync();
    expect(w.sam.replica.setAside).toEqual([]);
  });

  it('waits, on a page leaving right after its first sync, for its own member statement, then leaves with a new key', async () => {
    // The server holds back its answers to what the tablet sends (its member statement among
    // them) until told.
    const t = await tabletWorld();
    const held: (() => void)[] = [];
    const openSocket = () => {
      const socket = t.w.server.openSocket() as FakeSocket;
      const serve = socket.serve.bind(socket);
      socket.serve = (message) => {
        if (message.type === SealedMessage.ack) held.push(() => serve(message));
        else serve(message);
      };
      return socket;
    };
    const page = await pageOf(t.w, opened, { openSocket });
    await until(() => page.provider.synced && page.provider.waiting > 0, 'the tablet’s first sync');
    expect(page.replica.partnerOf(t.tablet.signing.publicKey)).toBeNull(); // not in by its log yet

    const leaving = leaveWithNewKey(page, t.options);
    await new Promise((resolve) => setTimeout(resolve, 10));
    for (const answer of held.splice(0)) answer();
    // The later answers (the rules and the leave) come as the server gives them.
    const answering = setInterval(() => held.splice(0).forEach((answer) => answer()), 1);
    const result = await leaving.finally(() => clearInterval(answering));
    t.expectLeft(page, result);
  });

  it('waits as long when its statement was stored behind an envelope another node relays late', async () => {
    // Another node stores Sam's rename just before the tablet's statement; it reaches the
    // tablet's socket only when the tablet asks again, after the acknowledgement of its own.
    const t = await tabletWorld();
    let late = 0;
    const openSocket = () => {
      const socket = t.w.server.openSocket() as FakeSocket;
      const take = socket.onSend!;
      socket.onSend = (message) => {
        if (message.type === SealedMessage.submit && late === 0) {
          late = t.w.sam.edit((doc) =>
            setDisplayName(doc, { partnerId: SAM, displayName: 'Sam, late' }),
          );
        }
        take(message);
      };
      return socket;
    };
    const page = await pageOf(t.w, opened, { openSocket });
    await until(
      () => page.provider.synced && page.provider.waiting === 0 && late > 0,
      'the acknowledgement of the tablet’s statement',
    );
    expect(page.replica.partnerOf(t.tablet.signing.publicKey)).toBeNull(); // behind the gap
    expect(page.provider.announcing).toBe(true);

    const result = await leaveWithNewKey(page, t.options);
    expect(page.replica.since).toBeGreaterThan(late);
    expect(page.provider.announcing).toBe(false);
    t.expectLeft(page, result);
  });

  it('writes nothing when another device removed it first, or when no other device is left', async () => {
    const w = await world();
    w.routes.onDelete = () => {
      w.sam.sync();
      const { seq } = w.sam.newEpoch([w.alex.identity]);
      w.server.relay(seq);
    };
    await removeDevice(w.phone, w.laptop.identity.signing.publicKey, w.options).catch(() => null);
    await until(
      () =>
        w.phone.replica.standing.removedAt(toBase64Url(w.alex.identity.signing.publicKey)) !== null,
      'Sam’s removal of the phone',
    );
    const entries = w.server.log.entries.length;
    expect(await leaveWithNewKey(w.phone, w.options)).toMatchObject({ epoch: null, seq: null });
    expect(w.server.log.entries.length).toBe(entries);

    const alone = await world();
    await removeDevice(alone.phone, alone.laptop.identity.signing.publicKey, alone.options);
    await removeDevice(alone.phone, alone.sam.identity.signing.publicKey, alone.options);
    const before = alone.server.log.entries.length;
    expect(await leaveWithNewKey(alone.phone, alone.options)).toMatchObject({ epoch: null });
    expect(alone.server.log.entries.length).toBe(before);
  });
});

describe('a new key once the partner has joined', () => {
  /** What `rotatesAfterJoin` reads of a session, for a test device. */
  const sessionOf = (device: Device) =>
    ({
      replica: device.replica,
      membership: {
        identity: device.identity,
        creator: device.space.creator.signing.publicKey,
      },
    }) as unknown as Parameters<typeof rotatesAfterJoin>[0];

  it('is for the joining seat’s first device alone, once it is in, while the space has its first key', () => {
    const { space, alex, sam } = createdAndJoined();
    sam.sync();
    alex.sync();
    expect(rotatesAfterJoin(sessionOf(sam))).toBe(true);
    // Not the device that made the space, nor a device linked later, nor one not yet in.
    expect(rotatesAfterJoin(sessionOf(alex))).toBe(false);
    const laptop = linkedDevice(sam);
    laptop.sync();
    expect(rotatesAfterJoin(sessionOf(laptop))).toBe(false);
    const stranger = new Device(space, SAM);
    stranger.sync();
    expect(rotatesAfterJoin(sessionOf(stranger))).toBe(false);
    // Once the space has a second key (from Sam's device, or any other), nobody does it again.
    sam.sync();
    sam.newEpoch();
    sam.sync();
    expect(sam.replica.standing.epoch).toBe(2);
    expect(rotatesAfterJoin(sessionOf(sam))).toBe(false);
  });
});
