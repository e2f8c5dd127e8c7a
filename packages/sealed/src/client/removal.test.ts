import { listPartners, setDisplayName } from '@mend/model';
import { decodeEnvelope, type PartnerId } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { COOKIE_TOKEN } from './conversion.js';
import { decodeMembership } from './membershipCodec.js';
import { removeDevice, RemovalError, RemovalErrorReason, rotateKeys } from './removal.js';
import type { SealedSession } from './SealedSession.js';
import { until } from './testing/fakeServer.js';
import { ALEX, linkedDevice, spaceId } from './testing/sealedSpace.js';
import { pageOf, sessionWorld } from './testing/session.js';

const opened: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

interface DeviceRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | null;
}

/**
 * The server's device route as the removing client sees it over `fetch` (docs/protocol.md,
 * "Removing a device", step 1): DELETE marks a device of the space revoked, 204, and 204 again
 * for one revoked before; 404 for a device the space never had; 401 without a credential it knows.
 */
class FakeDeviceRoutes {
  readonly requests: DeviceRequest[] = [];
  readonly revoked = new Set<string>();
  /** The next DELETE is carried out but its answer is lost (fetch rejects). */
  loseNextAnswer = false;
  /** Runs when a DELETE arrives, before it is answered (a race to stage). */
  onDelete: (() => void) | null = null;

  constructor(
    readonly devices: ReadonlySet<string>,
    readonly callers: Readonly<Record<string, PartnerId>>,
  ) {}

  readonly fetch = async (url: string, init: RequestInit): Promise<Response> => {
    const path = new URL(url, 'http://mend.test').pathname;
    const headers = new Headers(init.headers);
    const authorization = headers.get('authorization');
    this.requests.push({ method: init.method ?? 'GET', path, authorization });
    const match = /^\/(?:api\/sealed-spaces|sync)\/([^/]+)\/devices\/([^/]+)$/.exec(path);
    const caller = this.callers[authorization?.replace(/^Bearer /, '') ?? 'cookie'];
    let response: Response;
    if (!caller) response = json(401, { error: 'Who are you?' });
    else if (!match || match[1] !== spaceId || init.method !== 'DELETE') {
      response = json(404, { error: 'No such route.' });
    } else if (!this.devices.has(match[2]!)) {
      response = json(404, { error: 'No such device in this space.' });
    } else {
      this.revoked.add(match[2]!);
      this.onDelete?.();
      this.onDelete = null;
      response = new Response(null, { status: 204 });
    }
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new TypeError('fetch failed');
    }
    return response;
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/** Alex's phone (a session, synced), Alex's laptop linked and announced, Sam; the device routes. */
async function world() {
  const w = await sessionWorld();
  const laptop = linkedDevice(w.alex);
  w.sam.sync();
  const routes = new FakeDeviceRoutes(
    new Set([w.alex, w.sam, laptop].map((d) => toBase64Url(d.identity.signing.publicKey))),
    { token: ALEX, cookie: ALEX },
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
      },
    ]);
    expect(result).toMatchObject({ epoch: 2, snapshotStored: false });
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
    expect(w.routes.requests.map((r) => r.method)).toEqual(['DELETE', 'DELETE']);
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
    expect(w.routes.requests[0]).toEqual({
      method: 'DELETE',
      path: `/sync/${spaceId}/devices/${toBase64Url(w.laptop.identity.signing.publicKey)}`,
      authorization: null,
    });
  });

  it('says clearly when the server knows no such device, and writes nothing', async () => {
    const w = await world();
    const routes = new FakeDeviceRoutes(new Set(), { token: ALEX });
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
    expect(result).toEqual({ epoch: null, seq: null, snapshotCovers: null, snapshotStored: false });
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
    expect(w.routes.requests).toEqual([]);
    w.laptop.sync();
    expect(w.laptop.keyring.get(2)?.spaceKey).toEqual(w.phone.membership.keyring.get(2)?.spaceKey);
  });
});
