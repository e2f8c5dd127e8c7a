import { listPartners, setDisplayName } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.js';
import { sha256 } from '../crypto.js';
import { sealEnvelope } from '../envelopes.js';
import { sealEpochBox } from '../epochBox.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { encodeEpochPayload } from '../payloads.js';
import { newSpaceKey } from '../SpaceKeyring.js';
import { decodeMembership } from './membershipCodec.js';
import type { SealedSession } from './SealedSession.js';
import type { SetAside } from './SealedReplica.js';
import { FakeDeviceRoutes } from './testing/deviceRoutes.js';
import { until } from './testing/fakeServer.js';
import { ALEX, linkedDevice, SAM, spaceId } from './testing/sealedSpace.js';
import { pageOf, sessionWorld } from './testing/session.js';

/*
 * Catching up across a key change (docs/protocol.md) on a device that was away: its backlog
 * starts with a snapshot sealed under an epoch it does not hold, the statement with its box
 * inside. The session fetches its boxes from the server (GET …/epoch-boxes) and the replica
 * takes the snapshot only through the statement it carries.
 */

const opened: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

/**
 * Alex's device (a session) synced once and closed; meanwhile Sam removes Alex's laptop, writes
 * under epoch 2 and snapshots, and the server compacts the log into that snapshot.
 */
async function awayAcrossRemoval() {
  const w = await sessionWorld();
  const laptop = linkedDevice(w.alex);
  w.sam.sync();
  const before = await pageOf(w, opened);
  await until(() => before.provider.synced, 'the first sync');
  const sinceBefore = before.replica.since;
  await before.destroy();

  const { statement, spaceKey } = w.sam.epochStatement([laptop.identity]);
  const statementSeq = w.sam.publish(EnvelopeKind.keys, encodeEpochPayload(statement));
  w.sam.sync();
  w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Sam, epoch 2' }));
  w.sam.sync();
  const coversSeq = w.sam.replica.since;
  const snapshot = sealEnvelope({
    identity: w.sam.identity,
    keyring: w.sam.keyring,
    kind: EnvelopeKind.snapshot,
    stream: w.sam.doc.clientID,
    counter: 0,
    covers: { seq: coversSeq, hash: sha256(w.space.log.entries[coversSeq - 1]!) },
    payload: w.sam.replica.snapshot()!.payload,
  }).bytes;
  w.server.snapshot = { coversSeq, envelope: snapshot };
  // And one more after it, under epoch 2.
  w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Sam, after' }));

  const me = toBase64Url(w.alex.identity.signing.publicKey);
  const routes = new FakeDeviceRoutes(new Set(), { token: { partnerId: ALEX, device: me } });
  const boxes = statement.boxes.map((b) => ({
    signingKey: toBase64Url(b.signingKey),
    box: toBase64Url(b.box),
  }));
  const api = { fetch: routes.fetch, retryPausesMs: [0, 0, 0] };
  return { ...w, laptop, sinceBefore, statementSeq, coversSeq, spaceKey, routes, boxes, api, me };
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

describe('a device that was away across a key change', () => {
  it('fetches its box, takes the snapshot through the statement it carries, keeps the key and reads on', async () => {
    const w = await awayAcrossRemoval();
    w.routes.leave(2, w.boxes);
    const page = await pageOf(w, opened, { api: w.api });
    await until(() => page.provider.synced, 'the catch-up');
    expect(w.routes.requests).toEqual([
      {
        method: 'GET',
        path: `/api/sealed-spaces/${spaceId}/epoch-boxes`,
        authorization: 'Bearer token',
        body: null,
      },
    ]);
    expect(page.replica.since).toBe(w.space.log.entries.length);
    expect(page.replica.setAside).toEqual([]);
    expect(page.membership.keyring.get(2)?.spaceKey).toEqual(w.spaceKey);
    expect(page.replica.standing.removedAt(toBase64Url(w.laptop.identity.signing.publicKey))).toBe(
      w.statementSeq,
    );
    expect(listPartners(page.replica.doc)[1]?.displayName).toBe('Sam, after');
    // Kept with the device's secrets, as a key from the log is.
    let stored: number[] = [];
    for (let i = 0; i < 50 && stored.length < 2; i++) stored = await storedEpochs(w.factory);
    expect(stored).toEqual([1, 2]);
    // What it writes now is sealed under epoch 2.
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'Alex, back' });
    await until(() => page.waiting === 0, 'the edit to be stored');
    w.sam.sync();
    expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Alex, back');
    expect(w.sam.replica.setAside).toEqual([]);
  });

  it('stays before the snapshot while its boxes are missing or do not open it, and catches up on a later connection', async () => {
    const w = await awayAcrossRemoval();
    // A box anyone could have sealed to this device, with a key that opens nothing.
    const forged = sealEpochBox(w.alex.identity.agreement.publicKey, {
      spaceId,
      epoch: 2,
      spaceKey: newSpaceKey(),
    });
    w.routes.leave(2, [{ signingKey: w.me, box: toBase64Url(forged) }]);
    const setAside: SetAside[] = [];
    const page = await pageOf(w, opened, { api: w.api, connect: false });
    page.on('set-aside', (entry) => setAside.push(entry));
    page.connect();
    await until(() => setAside.length > 0, 'the unopened key');
    expect(setAside).toEqual([
      expect.objectContaining({ seq: w.coversSeq, reason: 'unopened-key' }),
    ]);
    expect(page.replica.since).toBe(w.sinceBefore);
    expect(page.provider.status.kind).toBe('syncing');
    expect(page.membership.keyring.get(2)).toBeUndefined();
    // It neither asks again in a loop nor passes over the positions the snapshot covers.
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(w.routes.requests).toHaveLength(1);
    expect(w.server.hellos).toHaveLength(2); // the first page's and this one's
    expect(page.replica.setAside.map((e) => e.reason)).toEqual(['unopened-key']);

    // The writer's boxes reach the server; the next connection asks again and catches up.
    w.routes.leave(2, w.boxes);
    page.disconnect();
    page.connect();
    await until(() => page.provider.synced, 'the catch-up');
    expect(w.routes.requests).toHaveLength(2);
    expect(page.replica.setAside).toEqual([]);
    expect(page.membership.keyring.get(2)?.spaceKey).toEqual(w.spaceKey);
    expect(listPartners(page.replica.doc)[1]?.displayName).toBe('Sam, after');
  });

  it('stays before the snapshot when the server cannot be reached for its boxes', async () => {
    const w = await awayAcrossRemoval();
    w.routes.leave(2, w.boxes);
    w.routes.boxesStatus = 503;
    const page = await pageOf(w, opened, { api: w.api });
    await until(() => page.replica.setAside.length > 0, 'the unopened key');
    expect(w.routes.requests).toHaveLength(4); // sent again after each lost answer
    expect(page.replica.since).toBe(w.sinceBefore);
    w.routes.boxesStatus = null;
    page.disconnect();
    page.connect();
    await until(() => page.provider.synced, 'the catch-up');
    expect(page.membership.keyring.get(2)?.spaceKey).toEqual(w.spaceKey);
  });
});
