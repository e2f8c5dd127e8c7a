/**
 * Removing a device and catching up across the key change against the real server
 * (docs/protocol.md, "Removing a device and new epochs", "Catching up across a key change"):
 * Alex on a phone and a laptop, Sam. Sam's device is offline while Alex's phone removes the
 * laptop (a real DELETE, the epoch statement, the boxes left with the server, a snapshot under
 * the new epoch); Alex writes an agreement. The laptop's socket closes with 4401 and its token is
 * refused; the keys it held cannot open anything written after; Sam comes back, finds a backlog
 * that starts with the snapshot, fetches his box and reads the agreement. Then the laptop leaves
 * on its own ("Leaving a space"): it moves the space to a key it never keeps, before its DELETE.
 * And once Sam has joined, Sam's device moves the space to a key the invite link never opened,
 * which Alex, away meanwhile, reaches through Sam's snapshot ("A new key once the partner has
 * joined").
 */
import { listAgreements, listPartners, proposeAgreement } from '@mend/model';
import { CloseCode, decodeEnvelope, type SpaceId } from '@mend/protocol';
import {
  claimLink,
  confirmLink,
  decryptEnvelope,
  leaveWithNewKey,
  linkStatus,
  offerLink,
  removeDevice,
  rotateAfterJoin,
  SealedError,
  SpaceKeyring,
  toBase64Url,
  verifyEnvelope,
  type RemovalSession,
} from '@mend/sealed';
import { afterEach, describe, expect, it } from 'vitest';
import { get } from '../support/api.js';
import {
  newDevice,
  sameSeq,
  SealedPage,
  sealedCouple,
  type SealedDevice,
} from '../support/sealedClient.js';
import { envelopeRows, openServerDatabase, snapshotRow } from '../support/sealedStorage.js';
import { startServer, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const pages: SealedPage[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

async function server(): Promise<MendServer> {
  const s = await startServer();
  servers.push(s);
  return s;
}

/** The open space on a test page, as removeDevice reads it (keys kept in memory only). */
function sessionOf(page: SealedPage): RemovalSession {
  return {
    membership: page.device.membership,
    provider: page.provider,
    replica: page.replica,
    keepKeys: async () => {},
  };
}

/** Links a new device into the seat of `page`'s device through the real link routes. */
async function linkLaptop(s: MendServer, page: SealedPage): Promise<SealedDevice> {
  const options = { baseUrl: s.url };
  const { membership } = page.device;
  const offer = await offerLink(membership, options);
  const claim = await claimLink(membership.spaceId, offer.linkText, options);
  const status = await linkStatus(membership, offer.linkId, options);
  await confirmLink(
    { session: sessionOf(page), linkId: offer.linkId, device: status.device! },
    options,
  );
  const linked = await claim.collect({ pollPausesMs: [50] });
  return newDevice('Laptop', linked.membership);
}

/** Alex and Sam, and Alex's laptop linked, announced and synced. */
async function withLaptop(s: MendServer) {
  const couple = await sealedCouple(s, { pages });
  const { alexPage } = couple;
  const laptop = await linkLaptop(s, alexPage);
  const laptopPage = new SealedPage(s, laptop);
  pages.push(laptopPage);
  const laptopKey = laptop.membership.identity.signing.publicKey;
  await alexPage.until(
    () => alexPage.replica.partnerOf(laptopKey) === alexPage.partnerId,
    'the laptop to announce itself',
  );
  // Synced is not enough: the laptop is a member by its own log only once its announcement
  // is back from the server, and removeDevice and leaveWithNewKey ask exactly that.
  await laptopPage.until(
    () =>
      laptopPage.provider.synced && laptopPage.replica.partnerOf(laptopKey) === alexPage.partnerId,
    'the laptop to sync and find itself a member',
  );
  return { ...couple, laptop, laptopPage, laptopKey };
}

/** `from` proposes an agreement; resolves once the server has it and `reader` shows it. */
async function agreedAndRead(from: SealedPage, reader: SealedPage, title: string, body: string) {
  proposeAgreement(from.doc, { title, body, by: from.partnerId, at: Date.now() });
  await from.settled();
  await reader.until(
    () => listAgreements(reader.doc).some((a) => a.title === title),
    'the agreement to arrive',
  );
}

/** The server's snapshot of the space (and the seq it covers), then its envelopes after `seq`. */
function heldAfter(s: MendServer, spaceId: SpaceId, seq: number) {
  const db = openServerDatabase(s);
  try {
    const snapshot = snapshotRow(db, spaceId);
    const rows = envelopeRows(db, spaceId).filter((r) => r.seq > seq);
    const data = [...(snapshot ? [snapshot.data] : []), ...rows.map((r) => r.data)];
    return {
      snapshotCovers: snapshot?.coversSeq ?? null,
      envelopes: data.map((b) => new Uint8Array(b)),
    };
  } finally {
    db.close();
  }
}

/** Every envelope is sealed under `epoch`, and the keys in `held` open none of them. */
function expectSealedUnder(
  envelopes: readonly Uint8Array[],
  spaceId: SpaceId,
  epoch: number,
  held: SpaceKeyring,
): void {
  for (const bytes of envelopes) {
    expect(decodeEnvelope(bytes).epoch).toBe(epoch);
    expect(() => decryptEnvelope(verifyEnvelope(bytes, spaceId), held)).toThrow(SealedError);
  }
}

function keyringCopy(keyring: SpaceKeyring): SpaceKeyring {
  const copy = new SpaceKeyring(keyring.spaceId);
  for (const { epoch } of keyring.toStored().epochs) copy.add(epoch, keyring.get(epoch)!.spaceKey);
  return copy;
}

describe('removing a device and catching up across the key change', () => {
  it('the laptop is out for good and cannot read what comes after; Sam, offline meanwhile, catches up through his box', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage, laptop, laptopPage, laptopKey } = await withLaptop(s);
    await sameSeq([samPage, alexPage]);
    // What the laptop holds before it is removed, kept by the test.
    const laptopHeld = keyringCopy(laptop.membership.keyring);
    const epochBefore = alexPage.replica.standing.epoch;
    const samSince = samPage.replica.since;

    sam.network.down();
    await samPage.until(() => samPage.provider.status.kind === 'disconnected', 'Sam offline');

    const removed = await removeDevice(sessionOf(alexPage), laptopKey, { baseUrl: s.url });
    expect(removed).toMatchObject({
      epoch: epochBefore + 1,
      boxesLeft: true,
      snapshotStored: true,
    });
    const newEpoch = removed.epoch!;

    // The laptop's socket was closed for the removal and its token no longer works.
    await laptopPage.until(
      () =>
        laptopPage.statuses.some(
          (st) => st.kind === 'disconnected' && st.code === CloseCode.revoked,
        ),
      'the laptop’s socket to close with 4401',
    );
    const refused = await get(s, `/sync/${alex.membership.spaceId}`, {
      Authorization: `Bearer ${laptop.membership.token}`,
    });
    expect(refused.status).toBe(401);
    laptopPage.close();

    const by = alexPage.partnerId;
    proposeAgreement(alexPage.doc, {
      title: 'After the laptop',
      body: 'We talk before we decide.',
      by,
      at: Date.now(),
    });
    await alexPage.settled();

    // Everything the server holds from after the removal: sealed under the new epoch, and
    // the keys the laptop held open none of it.
    const after = heldAfter(s, alex.membership.spaceId, removed.seq!);
    expect(after.snapshotCovers).toBe(removed.snapshotCovers);
    expect(after.envelopes.length).toBeGreaterThanOrEqual(2); // the snapshot and the agreement at least
    expectSealedUnder(after.envelopes, alex.membership.spaceId, newEpoch, laptopHeld);

    // Sam comes back: his backlog starts with the snapshot under an epoch he does not hold.
    expect(sam.membership.keyring.get(newEpoch)).toBeUndefined();
    sam.network.up();
    await samPage.until(
      () => listAgreements(samPage.doc).some((a) => a.title === 'After the laptop'),
      'Sam to read the agreement',
      20_000,
    );
    await samPage.until(() => samPage.provider.synced, 'Sam to sync');
    expect(samPage.receipts.find((r) => r.seq > samSince)).toEqual({
      seq: removed.snapshotCovers,
      receipt: { kind: 'snapshot' },
    });
    expect(samPage.replica.setAside).toEqual([]);
    expect(samPage.tampers).toEqual([]);
    expect(sam.membership.keyring.get(newEpoch)?.spaceKey).toEqual(
      alex.membership.keyring.get(newEpoch)?.spaceKey,
    );
    expect(samPage.replica.standing.removedAt(toBase64Url(laptopKey))).toBe(removed.seq);
    expect(samPage.doc.toJSON()).toEqual(alexPage.doc.toJSON());
  });

  it('a device that leaves first moves the space to a key it never holds; its DELETE then ends its token', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage, laptop, laptopPage, laptopKey } = await withLaptop(s);
    const laptopHeld = keyringCopy(laptop.membership.keyring);
    const epochBefore = laptopPage.replica.standing.epoch;

    const left = await leaveWithNewKey(sessionOf(laptopPage), { baseUrl: s.url });
    expect(left).toMatchObject({ epoch: epochBefore + 1, boxesLeft: true, snapshotCovers: null });
    expect(laptop.membership.keyring.get(left.epoch!)).toBeUndefined();
    const spaceId = alex.membership.spaceId;
    const bearer = { Authorization: `Bearer ${laptop.membership.token}` };
    const revoked = await fetch(`${s.url}/sync/${spaceId}`, { method: 'DELETE', headers: bearer });
    expect(revoked.status).toBe(204);
    expect((await get(s, `/sync/${spaceId}`, bearer)).status).toBe(401);
    laptopPage.close();

    // Both partners' devices take the new key in; Sam's box is also with the server.
    for (const [page, device] of [
      [alexPage, alex],
      [samPage, sam],
    ] as const) {
      await page.until(
        () => device.membership.keyring.get(left.epoch!) !== undefined,
        'the new key to open',
      );
      expect(page.replica.setAside).toEqual([]);
      expect(
        page.replica.devices().find((d) => d.signingKey === toBase64Url(laptopKey)),
      ).toMatchObject({
        removedAt: left.seq,
        removedBy: toBase64Url(laptopKey),
      });
    }
    const boxes = await get(s, `/sync/${spaceId}/epoch-boxes`, {
      Authorization: `Bearer ${sam.membership.token}`,
    });
    expect((boxes.json as { boxes: { epoch: number }[] }).boxes.map((b) => b.epoch)).toEqual([
      left.epoch,
    ]);

    // What Alex writes next is sealed under the new key: the laptop's keys open none of it.
    await agreedAndRead(alexPage, samPage, 'After the laptop left', 'We say goodnight.');
    // The laptop could not write the snapshot after its key change: Alex's phone, the first
    // device in the log, did, under the new key.
    await alexPage.until(() => alexPage.replica.snapshotCovered >= left.seq!, 'the snapshot');
    const after = heldAfter(s, spaceId, left.seq!);
    expect(after.snapshotCovers).toBeGreaterThanOrEqual(left.seq!);
    expect(after.envelopes.length).toBeGreaterThanOrEqual(2);
    expectSealedUnder(after.envelopes, spaceId, left.epoch!, laptopHeld);
  });

  it('once the partner has joined, the joining device moves the space to a key the invite link never opened', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage } = await sealedCouple(s, { pages });
    // The key the invite link's welcome box carried, as whoever kept the link could open it.
    const firstKey = keyringCopy(sam.membership.keyring);
    expect(firstKey.toStored().epochs.map((e) => e.epoch)).toEqual([1]);
    expect(rotateAfterJoin(sessionOf(alexPage), { baseUrl: s.url })).toBeNull(); // the creator's

    const rotated = await rotateAfterJoin(sessionOf(samPage), { baseUrl: s.url });
    expect(rotated).toMatchObject({ epoch: 2, boxesLeft: true, snapshotStored: true });
    expect(rotateAfterJoin(sessionOf(samPage), { baseUrl: s.url })).toBeNull(); // done once
    await alexPage.until(
      () => alex.membership.keyring.get(2) !== undefined,
      'Alex’s device to open the new key',
    );
    expect(alexPage.replica.setAside).toEqual([]);

    await agreedAndRead(alexPage, samPage, 'After the join', 'We check in at nine.');
    // The server now holds the snapshot under the new key and what came after it: the first key
    // opens none of it, and nothing sealed under it is left.
    const spaceId = alex.membership.spaceId;
    const held = heldAfter(s, spaceId, rotated!.snapshotCovers!);
    expect(held.snapshotCovers).toBe(rotated!.snapshotCovers);
    expect(held.envelopes.length).toBeGreaterThanOrEqual(2);
    expectSealedUnder(held.envelopes, spaceId, 2, firstKey);
  });

  it('a creator away while the partner joined and changed the key catches up from the partner’s snapshot', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage } = await sealedCouple(s, {
      pages,
      alexAwayDuringJoin: true,
    });
    const rotated = await rotateAfterJoin(sessionOf(samPage), { baseUrl: s.url });
    expect(rotated).toMatchObject({ epoch: 2, snapshotStored: true, boxesLeft: true });

    // Alex's backlog now starts with Sam's snapshot: by a device Alex's log has not seen join,
    // under a key Alex does not hold yet. Its own list makes Sam a member; Alex's box opens it.
    alex.network.up();
    await alexPage.until(
      () => listPartners(alexPage.doc).some((p) => p.displayName === 'Sam'),
      'Alex to see Sam',
    );
    await alexPage.until(() => alexPage.provider.synced, 'Alex to sync');
    expect(alexPage.replica.setAside).toEqual([]);
    expect(alexPage.tampers).toEqual([]);
    expect(alex.membership.keyring.get(2)?.spaceKey).toEqual(
      sam.membership.keyring.get(2)?.spaceKey,
    );
    expect(alexPage.replica.partnerOf(sam.membership.identity.signing.publicKey)).toBe(
      sam.membership.partnerId,
    );
    await sameSeq([alexPage, samPage]);
    expect(alexPage.doc.toJSON()).toEqual(samPage.doc.toJSON());
  });
});
