import { LinkState } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { T0, claimOf, confirmationOf, hash, offerOf } from './deviceLinkContract.testkit.js';
import { ClaimOutcome, ConfirmOutcome, LinkTarget, OfferOutcome } from './DeviceLinkStore.js';
import { KitOutcome } from './DeviceStore.js';
import type { NewDevice, StorageAdapter } from './StorageAdapter.js';
import {
  createSealedSpaceWithDevice,
  createSealedSpaceWithTwoSeats,
  migratedAdapterPerTest,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/**
 * The contract of return links (DeviceLinkStore, docs/protocol.md "Returning to a seat"): a
 * device offers a link for the other partner's seat once that seat has no current device,
 * recovery devices aside. Every adapter (memory, SQLite, PostgreSQL) runs this suite.
 */
export function defineReturnLinkContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`return link contract: ${name}`, () => {
    let storage: StorageAdapter;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
    });

    /** Alex's device and Sam's, each its own seat; Sam lost theirs (revoked) unless `samKept`. */
    async function samLost(samKept = false) {
      const space = await createSealedSpaceWithTwoSeats(storage, T0);
      if (!samKept)
        expect(await storage.revokeDevice(space.spaceId, space.sam.signingKey, T0)).toBe(true);
      return space;
    }

    const returnOffer = (by: NewDevice, at = T0) => offerOf(by, at, hash(), LinkTarget.partner);

    /** A recovery device of `by`'s seat, from a kit `by` makes: as a NewDevice of that seat. */
    async function recoveryDevice(by: NewDevice, at = T0): Promise<NewDevice> {
      const kit = {
        signingKey: hash(),
        agreementKey: hash(),
        box: hash(),
        linkSeq: 2,
        tokenHash: hash(),
      };
      const result = await storage.devices.putRecoveryKit(by.spaceId, by.signingKey, kit, at);
      expect(result.outcome).toBe(KitOutcome.stored);
      return { ...by, ...kit, addedAt: at };
    }

    it('confirms a return link into the other seat: the new device joins that seat and collects it', async () => {
      const { spaceId, alex, sam } = await samLost();
      const link = returnOffer(alex);
      expect(await storage.links.offerLink(link)).toBe(OfferOutcome.offered);
      // The link is Alex's seat's: Sam's seat does not see it.
      expect(await storage.links.readLink(spaceId, link.linkId, sam.partnerId, T0)).toBeNull();
      expect(await storage.links.endLink(spaceId, link.linkId, sam.partnerId, T0)).toBe(false);

      const claim = claimOf(link);
      expect(await storage.links.claimLink(spaceId, claim, T0 + 1)).toEqual({
        outcome: ClaimOutcome.claimed,
        linkId: link.linkId,
      });
      expect(
        (await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 1))?.state,
      ).toBe(LinkState.claimed);
      const confirmation = confirmationOf(T0 + 2);
      expect(await storage.links.confirmLink(spaceId, link.linkId, sam, confirmation, T0 + 2)).toBe(
        ConfirmOutcome.notADevice,
      );
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 2),
      ).toBe(ConfirmOutcome.confirmed);
      const added = {
        spaceId,
        partnerId: sam.partnerId,
        signingKey: claim.signingKey,
        agreementKey: claim.agreementKey,
        tokenHash: confirmation.tokenHash,
        addedAt: T0 + 2,
      };
      expect(await storage.findDeviceByTokenHash(confirmation.tokenHash)).toEqual(added);
      // The same confirmation again (its answer lost): the seat's new device does not refuse it.
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 3),
      ).toBe(ConfirmOutcome.confirmed);

      const token = hash();
      expect(await storage.links.collectLink(spaceId, claim, token, T0 + 4)).toEqual({
        linkId: link.linkId,
        partnerId: sam.partnerId,
        box: confirmation.box,
        linkSeq: confirmation.linkSeq,
      });
      expect(await storage.findDeviceByTokenHash(token)).toEqual({ ...added, tokenHash: token });
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
      // Sam's seat has a current device again: no further return link.
      expect(await storage.links.offerLink(returnOffer(alex, T0 + 5))).toBe(OfferOutcome.seatTaken);
    });

    it('refuses a return link while the other seat has a current device, and in a space with no other seat', async () => {
      const { spaceId, alex, sam } = await samLost(true);
      expect(await storage.links.offerLink(returnOffer(alex))).toBe(OfferOutcome.seatTaken);
      expect(await storage.links.offerLink(returnOffer(sam))).toBe(OfferOutcome.seatTaken);
      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0 + 1)).toBe(true);
      expect(await storage.links.offerLink(returnOffer(alex, T0 + 1))).toBe(OfferOutcome.offered);

      const alone = await createSealedSpaceWithDevice(storage);
      expect(await storage.links.offerLink(returnOffer(alone.first))).toBe(
        OfferOutcome.noOtherSeat,
      );
      // A seat's own link there is as before.
      expect(await storage.links.offerLink(offerOf(alone.first))).toBe(OfferOutcome.offered);
    });

    it('does not count a recovery device of the other seat', async () => {
      const { spaceId, alex, sam } = await samLost(true);
      await recoveryDevice(sam);
      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0 + 1)).toBe(true);
      const link = returnOffer(alex, T0 + 1);
      expect(await storage.links.offerLink(link)).toBe(OfferOutcome.offered);
      const claim = claimOf(link);
      await storage.links.claimLink(spaceId, claim, T0 + 2);
      const confirmation = confirmationOf(T0 + 3);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmation, T0 + 3),
      ).toBe(ConfirmOutcome.confirmed);
      expect((await storage.findDeviceByTokenHash(confirmation.tokenHash))?.partnerId).toBe(
        sam.partnerId,
      );
    });

    it('refuses to confirm a return link once the seat got a current device meanwhile', async () => {
      const { spaceId, alex, sam } = await samLost(true);
      const recovery = await recoveryDevice(sam);
      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0 + 1)).toBe(true);
      const link = returnOffer(alex, T0 + 1);
      expect(await storage.links.offerLink(link)).toBe(OfferOutcome.offered);
      await storage.links.claimLink(spaceId, claimOf(link), T0 + 2);

      // Meanwhile Sam recovered with the kit and linked a device to their own seat from it.
      const own = offerOf(recovery, T0 + 2);
      expect(await storage.links.offerLink(own)).toBe(OfferOutcome.offered);
      await storage.links.claimLink(spaceId, claimOf(own), T0 + 3);
      expect(
        await storage.links.confirmLink(
          spaceId,
          own.linkId,
          recovery,
          confirmationOf(T0 + 3),
          T0 + 3,
        ),
      ).toBe(ConfirmOutcome.confirmed);

      const before = await storage.listDevices(spaceId);
      expect(
        await storage.links.confirmLink(spaceId, link.linkId, alex, confirmationOf(T0 + 4), T0 + 4),
      ).toBe(ConfirmOutcome.seatTaken);
      expect(await storage.listDevices(spaceId)).toEqual(before);
      expect(
        (await storage.links.readLink(spaceId, link.linkId, alex.partnerId, T0 + 4))?.state,
      ).toBe(LinkState.claimed);
    });

    it('keeps one open link of each kind per seat: a new offer ends the earlier one of its kind only', async () => {
      const { spaceId, alex } = await samLost();
      const own = offerOf(alex);
      const back = returnOffer(alex);
      for (const link of [own, back]) {
        expect(await storage.links.offerLink(link)).toBe(OfferOutcome.offered);
      }
      await storage.links.claimLink(spaceId, claimOf(back), T0 + 1);
      const ownAgain = offerOf(alex, T0 + 2);
      expect(await storage.links.offerLink(ownAgain)).toBe(OfferOutcome.offered);
      const state = async (linkId: typeof own.linkId) =>
        (await storage.links.readLink(spaceId, linkId, alex.partnerId, T0 + 3))?.state;
      expect(await state(own.linkId)).toBe(LinkState.ended);
      expect(await state(back.linkId)).toBe(LinkState.claimed);
      expect(await state(ownAgain.linkId)).toBe(LinkState.open);

      const backAgain = returnOffer(alex, T0 + 3);
      expect(await storage.links.offerLink(backAgain)).toBe(OfferOutcome.offered);
      expect(await state(back.linkId)).toBe(LinkState.ended);
      expect(await state(ownAgain.linkId)).toBe(LinkState.open);
      expect(await state(backAgain.linkId)).toBe(LinkState.open);
    });
  });
}
