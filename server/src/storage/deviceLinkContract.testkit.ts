import { randomBytes } from 'node:crypto';
import { LinkState, type LinkId, type SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import {
  ClaimOutcome,
  ConfirmOutcome,
  LinkTarget,
  OfferOutcome,
  type LinkClaim,
  type LinkConfirmation,
  type NewLink,
} from './DeviceLinkStore.js';
import type { NewDevice, StorageAdapter } from './StorageAdapter.js';
import {
  createSealedSpaceWithTwoSeats,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newDevice,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/** The offer's time in every test; links live 15 minutes, collections 10 (the caller's rule). */
export const T0 = 1_700_000_000_000;
const OFFER_MS = 15 * 60_000;
const COLLECT_MS = 10 * 60_000;

/**
 * The contract of device links (DeviceLinkStore, docs/protocol.md "Linking a device"): every
 * adapter (memory, SQLite, PostgreSQL) runs this suite, beside the space directory's.
 *
 *   defineDeviceLinkContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 */
export function defineDeviceLinkContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`device link contract: ${name}`, () => {
    let storage: StorageAdapter;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
    });

    /** A sealed space with Alex's device (E) and Sam's, each its own seat. */
    const sealedSpace = () => createSealedSpaceWithTwoSeats(storage, T0);

    async function offered(by: NewDevice, at = T0, codeHash = hash()) {
      const link = offerOf(by, at, codeHash);
      expect(await storage.links.offerLink(link)).toBe(OfferOutcome.offered);
      return link;
    }

    it('takes a link from offer to claim, confirmation and collection, adding the device to the seat', async () => {
      const { spaceId, alex } = await sealedSpace();
      const link = await offered(alex);
      const seat = alex.partnerId;
      expect(await storage.links.readLink(spaceId, link.linkId, seat, T0)).toEqual({
        state: LinkState.open,
        device: null,
      });

      const claim = claimOf(link);
      const claimed = { outcome: ClaimOutcome.claimed, linkId: link.linkId };
      expect(await storage.links.claimLink(spaceId, claim, T0 + 1)).toEqual(claimed);
      expect(await storage.links.readLink(spaceId, link.linkId, seat, T0 + 2)).toEqual({
        state: LinkState.claimed,
        device: { signingKey: claim.signingKey, agreementKey: claim.agreementKey },
      });
      // Sent again (its answer lost): the same answer, nothing else changes.
      expect(await storage.links.claimLink(spaceId, claim, T0 + 3)).toEqual(claimed);

      const confirmation = confirmationOf(T0 + 4);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 4),
      ).toBe(ConfirmOutcome.confirmed);
      const added = {
        spaceId,
        partnerId: seat,
        signingKey: claim.signingKey,
        agreementKey: claim.agreementKey,
        tokenHash: confirmation.tokenHash,
        addedAt: T0 + 4,
      };
      expect(await storage.listDevices(spaceId)).toContainEqual(added);
      expect(await storage.findDeviceByTokenHash(confirmation.tokenHash)).toEqual(added);
      expect((await storage.links.readLink(spaceId, link.linkId, seat, T0 + 5))?.state).toBe(
        LinkState.confirmed,
      );
      expect(await storage.links.claimLink(spaceId, claim, T0 + 5)).toEqual({
        outcome: ClaimOutcome.confirmed,
        linkId: link.linkId,
      });

      const token = hash();
      const collected = {
        linkId: link.linkId,
        partnerId: seat,
        box: confirmation.box,
        linkSeq: confirmation.linkSeq,
      };
      expect(await storage.links.collectLink(spaceId, claim, token, T0 + 6)).toEqual(collected);
      expect(await storage.findDeviceByTokenHash(token)).toEqual({ ...added, tokenHash: token });
      expect(await storage.findDeviceByTokenHash(confirmation.tokenHash)).toBeNull();
      // Collected again (that answer lost too): a new token, the one before stops working.
      const again = hash();
      expect(await storage.links.collectLink(spaceId, claim, again, T0 + 7)).toEqual(collected);
      expect(await storage.findDeviceByTokenHash(again)).not.toBeNull();
      expect(await storage.findDeviceByTokenHash(token)).toBeNull();
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
    });

    it('lets only the same claim through once a link is claimed, and no claim before the offer or of another space', async () => {
      const { spaceId, alex } = await sealedSpace();
      const other = await sealedSpace();
      const link = await offered(alex);
      const claim = claimOf(link);
      expect(await storage.links.claimLink(other.spaceId, claim, T0 + 1)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect(
        await storage.links.claimLink(spaceId, { ...claim, codeHash: hash() }, T0 + 1),
      ).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect((await storage.links.claimLink(spaceId, claim, T0 + 1)).outcome).toBe(
        ClaimOutcome.claimed,
      );
      const taken = { outcome: ClaimOutcome.taken };
      expect(await storage.links.claimLink(spaceId, claimOf(link), T0 + 2)).toEqual(taken);
      expect(
        await storage.links.claimLink(spaceId, { ...claim, claimHash: hash() }, T0 + 2),
      ).toEqual(taken);
      expect(
        await storage.links.claimLink(spaceId, { ...claim, agreementKey: key() }, T0 + 2),
      ).toEqual(taken);
      await storage.links.confirmLink(spaceId, link.linkId, alex, confirmationOf(T0 + 3), T0 + 3);
      expect(
        await storage.links.claimLink(spaceId, { ...claim, signingKey: key() }, T0 + 4),
      ).toEqual(taken);
      expect(
        await storage.links.collectLink(spaceId, { ...claim, claimHash: hash() }, hash(), T0 + 4),
      ).toBeNull();
    });

    it('refuses a claim with the signing key of a device of the space', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const link = await offered(alex);
      for (const device of [alex, sam]) {
        const claim = { ...claimOf(link), signingKey: device.signingKey };
        expect(await storage.links.claimLink(spaceId, claim, T0 + 1)).toEqual({
          outcome: ClaimOutcome.deviceTaken,
        });
      }
      expect(
        (await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 1))?.state,
      ).toBe(LinkState.open);
    });

    it('finds nothing of a link once it expired, and gives a confirmed one ten minutes to be collected', async () => {
      const { spaceId, alex } = await sealedSpace();
      const lapsed = await offered(alex);
      const end = lapsed.expiresAt;
      expect((await storage.links.claimLink(spaceId, claimOf(lapsed), end - 1)).outcome).toBe(
        ClaimOutcome.claimed,
      );
      expect(await storage.links.readLink(spaceId, lapsed.linkId, alex.partnerId, end)).toBeNull();
      expect(await storage.links.claimLink(spaceId, claimOf(lapsed), end)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect(
        await storage.links.confirmLink(spaceId, lapsed.linkId, alex, confirmationOf(end), end),
      ).toBe(ConfirmOutcome.notFound);
      expect(await storage.links.endLink(spaceId, lapsed.linkId, alex.partnerId, end)).toBe(false);
      const before = await storage.listDevices(spaceId);

      // Confirmed a minute before the offer's end: collectable for ten minutes from then.
      const link = await offered(alex, end);
      const claim = claimOf(link);
      await storage.links.claimLink(spaceId, claim, end + 1);
      const confirmedAt = link.expiresAt - 60_000;
      const confirmation = confirmationOf(confirmedAt);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, confirmedAt),
      ).toBe(ConfirmOutcome.confirmed);
      expect(
        await storage.links.collectLink(spaceId, claim, hash(), link.expiresAt + 60_000),
      ).not.toBeNull();
      expect(
        await storage.links.collectLink(spaceId, claim, hash(), confirmation.expiresAt),
      ).toBeNull();
      expect(await storage.links.claimLink(spaceId, claim, confirmation.expiresAt)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect(await storage.listDevices(spaceId)).toHaveLength(before.length + 1);
    });

    it('ends the seat’s earlier open or claimed link at a new offer, not another seat’s, nor a confirmed one', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const confirmed = await offered(alex);
      const confirmedClaim = claimOf(confirmed);
      await storage.links.claimLink(spaceId, confirmedClaim, T0);
      await storage.links.confirmLink(spaceId, confirmed.linkId, alex, confirmationOf(T0), T0);
      const claimed = await offered(alex, T0 + 1);
      await storage.links.claimLink(spaceId, claimOf(claimed), T0 + 1);
      const samsLink = await offered(sam, T0 + 1);
      const latest = await offered(alex, T0 + 2);

      const state = async (link: NewLink, by: NewDevice) =>
        (await storage.links.readLink(spaceId, link.linkId, by.partnerId, T0 + 3))?.state;
      expect(await state(claimed, alex)).toBe(LinkState.ended);
      expect(await state(latest, alex)).toBe(LinkState.open);
      expect(await state(samsLink, sam)).toBe(LinkState.open);
      expect(await state(confirmed, alex)).toBe(LinkState.confirmed);
      expect(await storage.links.claimLink(spaceId, claimOf(claimed), T0 + 3)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect(
        await storage.links.collectLink(spaceId, confirmedClaim, hash(), T0 + 3),
      ).not.toBeNull();
    });

    it('refuses an offer whose code a live link of another seat has, and takes it again from the same seat', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const first = await offered(alex);
      expect(await storage.links.offerLink(offerOf(sam, T0 + 1, first.codeHash))).toBe(
        OfferOutcome.codeTaken,
      );
      // The same device offering the same code again (its answer lost): the new link replaces it.
      const again = await offered(alex, T0 + 1, first.codeHash);
      const claim = claimOf(again);
      expect(await storage.links.claimLink(spaceId, claim, T0 + 2)).toEqual({
        outcome: ClaimOutcome.claimed,
        linkId: again.linkId,
      });
      // Once it expired, the code is free.
      const later = again.expiresAt;
      expect(await storage.links.offerLink(offerOf(sam, later, first.codeHash))).toBe(
        OfferOutcome.offered,
      );
    });

    it('refuses an offer or a confirmation from a revoked device, another seat’s, or of a space that is not sealed', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const link = await offered(alex);
      await storage.links.claimLink(spaceId, claimOf(link), T0 + 1);
      const confirmation = confirmationOf(T0 + 2);
      const samAsAlex = { ...sam, partnerId: alex.partnerId };
      expect(await storage.links.offerLink(offerOf(samAsAlex, T0 + 2))).toBe(
        OfferOutcome.notADevice,
      );
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, samAsAlex, confirmation, T0 + 2),
      ).toBe(ConfirmOutcome.notADevice);
      expect(await storage.links.confirmLink(spaceId, link.linkId, sam, confirmation, T0 + 2)).toBe(
        ConfirmOutcome.notFound,
      );

      expect(await storage.revokeDevice(spaceId, alex.signingKey, T0 + 2)).toBe(true);
      expect(await storage.links.offerLink(offerOf(alex, T0 + 3))).toBe(OfferOutcome.notADevice);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 3),
      ).toBe(ConfirmOutcome.notADevice);
      expect(await storage.listDevices(spaceId)).toHaveLength(2);

      const plain = await createSpaceWithPartner(storage);
      const stranger = newDevice(plain.space.spaceId, plain.first.partnerId);
      expect(await storage.links.offerLink(offerOf(stranger, T0))).toBe(OfferOutcome.notADevice);
      const nowhere = newDevice(randomBytes(16).toString('base64url') as SpaceId);
      expect(await storage.links.offerLink(offerOf(nowhere, T0))).toBe(OfferOutcome.notADevice);
    });

    it('shows and ends a link only for its seat', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const link = await offered(alex);
      expect(await storage.links.readLink(spaceId, link.linkId, sam.partnerId, T0)).toBeNull();
      expect(await storage.links.endLink(spaceId, link.linkId, sam.partnerId, T0)).toBe(false);
      const unknown = randomBytes(16).toString('base64url') as LinkId;
      expect(await storage.links.readLink(spaceId, unknown, alex.partnerId, T0)).toBeNull();
      expect(await storage.links.endLink(spaceId, unknown, alex.partnerId, T0)).toBe(false);
      expect((await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0))?.state).toBe(
        LinkState.open,
      );
    });

    it('confirms only a claimed link, once, and the same confirmation again changes nothing', async () => {
      const { spaceId, alex } = await sealedSpace();
      const link = await offered(alex);
      const confirmation = confirmationOf(T0 + 1);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 1),
      ).toBe(ConfirmOutcome.notClaimed);
      await storage.links.claimLink(spaceId, claimOf(link), T0 + 1);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 2),
      ).toBe(ConfirmOutcome.confirmed);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 3),
      ).toBe(ConfirmOutcome.confirmed);
      for (const otherwise of [
        { ...confirmation, box: box() },
        { ...confirmation, linkSeq: confirmation.linkSeq + 1 },
      ]) {
        expect(await storage.links.confirmLink(spaceId, link.linkId, alex, otherwise, T0 + 3)).toBe(
          ConfirmOutcome.confirmedOtherwise,
        );
      }
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
      expect(await storage.findDeviceByTokenHash(confirmation.tokenHash)).not.toBeNull();
    });

    it('refuses to confirm a device whose signing key joined the space meanwhile', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const alexLink = await offered(alex);
      const samLink = await offered(sam);
      const alexClaim = claimOf(alexLink);
      await storage.links.claimLink(spaceId, alexClaim, T0 + 1);
      await storage.links.claimLink(
        spaceId,
        { ...claimOf(samLink), signingKey: alexClaim.signingKey },
        T0 + 1,
      );
      expect(
        await storage.links.confirmLink(
          spaceId,
          alexLink.linkId,
          alex,
          confirmationOf(T0 + 2),
          T0 + 2,
        ),
      ).toBe(ConfirmOutcome.confirmed);
      expect(
        await storage.links.confirmLink(
          spaceId,
          samLink.linkId,
          sam,
          confirmationOf(T0 + 2),
          T0 + 2,
        ),
      ).toBe(ConfirmOutcome.deviceTaken);
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
    });

    it('ends a link in any state: no claim or collection finds it, its seat sees it ended', async () => {
      const { spaceId, alex } = await sealedSpace();
      const link = await offered(alex);
      const claim = claimOf(link);
      await storage.links.claimLink(spaceId, claim, T0 + 1);
      const confirmation = confirmationOf(T0 + 2);
      await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 2);
      expect(await storage.links.endLink(spaceId, link.linkId, alex.partnerId, T0 + 3)).toBe(true);
      expect(await storage.links.endLink(spaceId, link.linkId, alex.partnerId, T0 + 3)).toBe(true);
      expect(await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 4)).toEqual({
        state: LinkState.ended,
        device: { signingKey: claim.signingKey, agreementKey: claim.agreementKey },
      });
      expect(await storage.links.claimLink(spaceId, claim, T0 + 4)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
      expect(await storage.links.collectLink(spaceId, claim, hash(), T0 + 4)).toBeNull();
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 4),
      ).toBe(ConfirmOutcome.notFound);

      const open = await offered(alex, T0 + 5);
      expect(await storage.links.endLink(spaceId, open.linkId, alex.partnerId, T0 + 5)).toBe(true);
      expect(await storage.links.claimLink(spaceId, claimOf(open), T0 + 6)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
    });

    it('collects nothing for a linked device revoked before it collected', async () => {
      const { spaceId, alex } = await sealedSpace();
      const link = await offered(alex);
      const claim = claimOf(link);
      await storage.links.claimLink(spaceId, claim, T0 + 1);
      await storage.links.confirmLink(spaceId, link.linkId, alex, confirmationOf(T0 + 2), T0 + 2);
      expect(await storage.revokeDevice(spaceId, claim.signingKey, T0 + 3)).toBe(true);
      const token = hash();
      expect(await storage.links.collectLink(spaceId, claim, token, T0 + 4)).toBeNull();
      expect(await storage.findDeviceByTokenHash(token)).toBeNull();
    });

    it('deletes a space’s links with the space', async () => {
      const { spaceId, alex } = await sealedSpace();
      const link = await offered(alex);
      await storage.deleteSpace(spaceId);
      expect(await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0)).toBeNull();
      expect(await storage.links.claimLink(spaceId, claimOf(link), T0)).toEqual({
        outcome: ClaimOutcome.notFound,
      });
    });

    describe('at the same moment', () => {
      it('lets one of several claims win', async () => {
        const { spaceId, alex } = await sealedSpace();
        const link = await offered(alex);
        const claims = [0, 1, 2, 3].map(() => claimOf(link));
        const results = await Promise.all(
          claims.map((c) => storage.links.claimLink(spaceId, c, T0 + 1)),
        );
        const won = results.flatMap((r, i) => (r.outcome === ClaimOutcome.claimed ? [i] : []));
        expect(won).toHaveLength(1);
        expect(results.filter((r) => r.outcome === ClaimOutcome.taken)).toHaveLength(3);
        const winner = claims[won[0] ?? -1];
        expect(
          (await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 2))?.device,
        ).toEqual({ signingKey: winner?.signingKey, agreementKey: winner?.agreementKey });
      });

      it('lets a confirmation and an end of one link each either happen whole or not at all', async () => {
        for (let round = 0; round < 4; round++) {
          const { spaceId, alex } = await sealedSpace();
          const link = await offered(alex);
          const claim = claimOf(link);
          await storage.links.claimLink(spaceId, claim, T0 + 1);
          const confirmation = confirmationOf(T0 + 2);
          const [confirmed, ended] = await Promise.all([
            storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 2),
            storage.links.endLink(spaceId, link.linkId, alex.partnerId, T0 + 2),
          ]);
          expect(ended).toBe(true);
          expect([ConfirmOutcome.confirmed, ConfirmOutcome.notFound]).toContain(confirmed);
          const device = await storage.findDeviceByTokenHash(confirmation.tokenHash);
          expect(device !== null).toBe(confirmed === ConfirmOutcome.confirmed);
          expect(await storage.listDevices(spaceId)).toHaveLength(
            confirmed === ConfirmOutcome.confirmed ? 3 : 2,
          );
          expect(
            (await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 3))?.state,
          ).toBe(LinkState.ended);
          expect(await storage.links.collectLink(spaceId, claim, hash(), T0 + 3)).toBeNull();
        }
      });

      it('keeps one open link of a seat when it offers twice at once', async () => {
        const { spaceId, alex } = await sealedSpace();
        const links = [offerOf(alex), offerOf(alex)];
        expect(await Promise.all(links.map((l) => storage.links.offerLink(l)))).toEqual([
          OfferOutcome.offered,
          OfferOutcome.offered,
        ]);
        const states = await Promise.all(
          links.map(
            async (l) =>
              (await storage.links.readLink(spaceId, l.linkId, alex.partnerId, T0))?.state,
          ),
        );
        expect([...states].sort()).toEqual([LinkState.ended, LinkState.open]);
      });
    });
  });
}

export function hash(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

const key = hash;

function box(): Uint8Array {
  return new Uint8Array(randomBytes(200));
}

/** `by`'s offer of a link for its own seat, or with `target` partner a return link. */
export function offerOf(
  by: NewDevice,
  at = T0,
  codeHash = hash(),
  target: LinkTarget = LinkTarget.own,
): NewLink {
  return {
    linkId: randomBytes(16).toString('base64url') as LinkId,
    spaceId: by.spaceId,
    partnerId: by.partnerId,
    target,
    offeredBy: by.signingKey,
    codeHash,
    createdAt: at,
    expiresAt: at + OFFER_MS,
  };
}

/** A new device's claim of `link`: fresh claim code and keys. */
export function claimOf(link: NewLink): LinkClaim {
  return { codeHash: link.codeHash, claimHash: hash(), signingKey: key(), agreementKey: key() };
}

export function confirmationOf(at: number): LinkConfirmation {
  return { box: box(), linkSeq: 7, tokenHash: hash(), expiresAt: at + COLLECT_MS };
}
