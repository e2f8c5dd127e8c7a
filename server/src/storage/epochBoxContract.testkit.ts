import { randomBytes } from 'node:crypto';
import type { LinkId, SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import { ConfirmOutcome, LinkTarget, OfferOutcome } from './DeviceLinkStore.js';
import { KitOutcome, RemoveOutcome } from './DeviceStore.js';
import { MAX_EPOCH_BOX_WRITERS, type EpochBox, type EpochBoxFor } from './EpochBoxStore.js';
import type { NewDevice, StorageAdapter } from './StorageAdapter.js';
import {
  createSealedSpaceWithTwoSeats,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newSpaceId,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

const T0 = 1_700_000_000_000;

/**
 * The contract of EpochBoxStore (docs/protocol.md, "Catching up across a key change"): every
 * adapter (memory, SQLite, PostgreSQL) runs this suite.
 *
 *   defineEpochBoxContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 */
export function defineEpochBoxContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`epoch box contract: ${name}`, () => {
    let storage: StorageAdapter;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
    });

    /** A sealed space with Alex's device and Sam's (added after Alex's), each its own seat. */
    const sealedSpace = () => createSealedSpaceWithTwoSeats(storage, T0 + 1);

    /** Another device of `by`'s seat, linked in (offer, claim, confirmation). */
    async function linkedDevice(by: NewDevice, at = T0 + 2): Promise<Uint8Array> {
      const codeHash = bytes32();
      const linkId = randomBytes(16).toString('base64url') as LinkId;
      const offer = {
        linkId,
        spaceId: by.spaceId,
        partnerId: by.partnerId,
        target: LinkTarget.own,
        offeredBy: by.signingKey,
        codeHash,
        createdAt: at,
        expiresAt: at + 60_000,
      };
      expect(await storage.links.offerLink(offer)).toBe(OfferOutcome.offered);
      const signingKey = bytes32();
      const claim = { codeHash, claimHash: bytes32(), signingKey, agreementKey: bytes32() };
      await storage.links.claimLink(by.spaceId, claim, at);
      const confirmation = { box: box(), linkSeq: 3, tokenHash: bytes32(), expiresAt: at + 1 };
      expect(await storage.links.confirmLink(by.spaceId, linkId, by, confirmation, at)).toBe(
        ConfirmOutcome.confirmed,
      );
      return signingKey;
    }

    function put(spaceId: SpaceId, by: Uint8Array, epoch: number, boxes: EpochBoxFor[]) {
      return storage.epochBoxes.putEpochBoxes(spaceId, by, epoch, boxes);
    }

    function boxesOf(spaceId: SpaceId, device: Uint8Array): Promise<EpochBox[]> {
      return storage.epochBoxes.epochBoxesOf(spaceId, device);
    }

    it('keeps each device’s box and gives a device its own only', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([]);
      const forAlex = boxFor(alex.signingKey);
      const forSam = boxFor(sam.signingKey);
      expect(await put(spaceId, alex.signingKey, 2, [forAlex, forSam])).toEqual({
        outcome: 'stored',
        kept: 2,
        ignored: 0,
        skipped: 0,
      });
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([{ epoch: 2, box: forSam.box }]);
      expect(await boxesOf(spaceId, alex.signingKey)).toEqual([{ epoch: 2, box: forAlex.box }]);
      expect(await boxesOf(spaceId, bytes32())).toEqual([]);
      const other = await sealedSpace();
      expect(await boxesOf(other.spaceId, sam.signingKey)).toEqual([]);
    });

    it('keeps the highest epoch per device: a lower one is ignored, a higher one replaces every lower box', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const phone = await linkedDevice(alex);
      await put(spaceId, alex.signingKey, 3, [boxFor(sam.signingKey)]);
      await put(spaceId, phone, 3, [boxFor(sam.signingKey)]);
      const lower = boxFor(sam.signingKey);
      expect(await put(spaceId, alex.signingKey, 2, [lower, boxFor(phone)])).toEqual({
        outcome: 'stored',
        kept: 1,
        ignored: 1,
        skipped: 0,
      });
      expect((await boxesOf(spaceId, sam.signingKey)).map((b) => b.epoch)).toEqual([3, 3]);
      // The phone had nothing: epoch 2 is its highest.
      expect((await boxesOf(spaceId, phone)).map((b) => b.epoch)).toEqual([2]);

      const higher = boxFor(sam.signingKey);
      expect((await put(spaceId, sam.signingKey, 5, [higher])).outcome).toBe('stored');
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([{ epoch: 5, box: higher.box }]);
      // Another device's boxes stay as they were.
      expect((await boxesOf(spaceId, phone)).map((b) => b.epoch)).toEqual([2]);
    });

    it('keeps four writers’ boxes of one epoch: the same writer replaces its own, a fifth is ignored', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const writers = [
        alex.signingKey,
        sam.signingKey,
        await linkedDevice(alex),
        await linkedDevice(sam),
        await linkedDevice(alex, T0 + 3),
      ];
      expect(MAX_EPOCH_BOX_WRITERS).toBe(4);
      const first = writers.slice(0, 4).map(() => boxFor(sam.signingKey));
      for (const [i, writer] of writers.slice(0, 4).entries()) {
        const stored = await put(spaceId, writer, 2, [first[i] ?? boxFor(sam.signingKey)]);
        expect(stored).toMatchObject({ kept: 1, ignored: 0 });
      }
      const fifth = await put(spaceId, writers[4] ?? bytes32(), 2, [boxFor(sam.signingKey)]);
      expect(fifth).toEqual({ outcome: 'stored', kept: 0, ignored: 1, skipped: 0 });
      const held = await boxesOf(spaceId, sam.signingKey);
      expect(sortedBoxes(held)).toEqual(sortedBoxes(first.map((b) => ({ epoch: 2, box: b.box }))));

      // The first writer again: its box is replaced, still four.
      const again = boxFor(sam.signingKey);
      expect(await put(spaceId, alex.signingKey, 2, [again])).toMatchObject({ kept: 1 });
      const replaced = [again, ...first.slice(1)].map((b) => ({ epoch: 2, box: b.box }));
      expect(sortedBoxes(await boxesOf(spaceId, sam.signingKey))).toEqual(sortedBoxes(replaced));

      // A new epoch starts the count again, from one writer.
      const next = boxFor(sam.signingKey);
      await put(spaceId, writers[4] ?? bytes32(), 3, [next]);
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([{ epoch: 3, box: next.box }]);
    });

    it('lists a device’s boxes by epoch, then by writer bytewise, the same on every engine', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const writers = [alex.signingKey, sam.signingKey, await linkedDevice(alex)];
      const written = [];
      for (const writer of writers) {
        const one = boxFor(alex.signingKey);
        await put(spaceId, writer, 4, [one]);
        written.push({ writer, box: one.box });
      }
      written.sort((a, b) => Buffer.compare(a.writer, b.writer));
      expect(await boxesOf(spaceId, alex.signingKey)).toEqual(
        written.map((w) => ({ epoch: 4, box: w.box })),
      );
    });

    it('skips a box for a device that is not a current device of the space', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const other = await sealedSpace();
      const phone = await linkedDevice(alex);
      expect(await storage.revokeDevice(spaceId, phone, T0 + 5)).toBe(true);
      const boxes = [
        boxFor(phone),
        boxFor(bytes32()),
        boxFor(other.sam.signingKey),
        boxFor(sam.signingKey),
      ];
      expect(await put(spaceId, alex.signingKey, 2, boxes)).toEqual({
        outcome: 'stored',
        kept: 1,
        ignored: 0,
        skipped: 3,
      });
      expect(await boxesOf(spaceId, phone)).toEqual([]);
      expect(await boxesOf(other.spaceId, other.sam.signingKey)).toEqual([]);
      expect(await boxesOf(spaceId, sam.signingKey)).toHaveLength(1);
    });

    it('changes nothing for a writer that is not a current device, in a plaintext or unknown space', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const other = await sealedSpace();
      const notADevice = { outcome: 'not-a-device' };
      expect(await put(spaceId, bytes32(), 2, [boxFor(sam.signingKey)])).toEqual(notADevice);
      expect(await put(spaceId, other.alex.signingKey, 2, [boxFor(sam.signingKey)])).toEqual(
        notADevice,
      );
      expect(await storage.revokeDevice(spaceId, alex.signingKey, T0 + 5)).toBe(true);
      expect(await put(spaceId, alex.signingKey, 2, [boxFor(sam.signingKey)])).toEqual(notADevice);
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([]);
      const plain = await createSpaceWithPartner(storage);
      expect(await put(plain.space.spaceId, bytes32(), 2, [boxFor(bytes32())])).toEqual(notADevice);
      expect(await put(newSpaceId(), bytes32(), 2, [boxFor(bytes32())])).toEqual(notADevice);
    });

    it('deletes a device’s boxes when it leaves, is removed or is replaced as the recovery device', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const phone = await linkedDevice(alex);
      const kit = {
        signingKey: bytes32(),
        agreementKey: bytes32(),
        box: box(),
        linkSeq: 4,
        tokenHash: bytes32(),
      };
      const stored = await storage.devices.putRecoveryKit(spaceId, alex.signingKey, kit, T0 + 3);
      expect(stored.outcome).toBe(KitOutcome.stored);
      const devices = [alex.signingKey, sam.signingKey, phone, kit.signingKey];
      await put(spaceId, alex.signingKey, 2, devices.map(boxFor));
      await put(spaceId, sam.signingKey, 2, devices.map(boxFor));
      for (const device of devices) expect(await boxesOf(spaceId, device)).toHaveLength(2);

      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0 + 4)).toBe(true);
      expect(await storage.devices.removeDevice(spaceId, phone, alex.signingKey, T0 + 5)).toBe(
        RemoveOutcome.removed,
      );
      const newKit = { ...kit, signingKey: bytes32(), tokenHash: bytes32() };
      expect(
        await storage.devices.putRecoveryKit(spaceId, alex.signingKey, newKit, T0 + 6),
      ).toEqual({ outcome: KitOutcome.stored, replaced: [kit.signingKey] });
      for (const gone of [sam.signingKey, phone, kit.signingKey]) {
        expect(await boxesOf(spaceId, gone)).toEqual([]);
      }
      // The boxes those devices wrote for others stay: a box is no less valid for its writer.
      expect(await boxesOf(spaceId, alex.signingKey)).toHaveLength(2);
      // And nothing new is kept for them.
      expect(await put(spaceId, alex.signingKey, 3, [boxFor(phone)])).toMatchObject({
        kept: 0,
        skipped: 1,
      });
    });

    it('deletes a space’s boxes with the space', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      await put(spaceId, alex.signingKey, 2, [boxFor(alex.signingKey), boxFor(sam.signingKey)]);
      await storage.deleteSpace(spaceId);
      expect(await boxesOf(spaceId, alex.signingKey)).toEqual([]);
      expect(await boxesOf(spaceId, sam.signingKey)).toEqual([]);
    });

    describe('at the same moment', () => {
      it('keeps four of six writers racing for one epoch, and only the highest of racing epochs', async () => {
        for (let round = 0; round < 3; round++) {
          const { spaceId, alex, sam } = await sealedSpace();
          const writers = [alex.signingKey, sam.signingKey];
          for (let i = 0; i < 4; i++) writers.push(await linkedDevice(i % 2 ? sam : alex));
          const results = await Promise.all(
            writers.map((writer) => put(spaceId, writer, 2, [boxFor(sam.signingKey)])),
          );
          const kept = results.map((r) => (r.outcome === 'stored' ? r.kept : -1));
          expect(kept.filter((k) => k === 1)).toHaveLength(4);
          expect(kept.filter((k) => k === 0)).toHaveLength(2);
          expect(await boxesOf(spaceId, sam.signingKey)).toHaveLength(4);

          const epochs = [3, 7, 5, 4, 6, 7];
          await Promise.all(
            writers.map((writer, i) =>
              put(spaceId, writer, epochs[i] ?? 3, [boxFor(alex.signingKey)]),
            ),
          );
          const held = await boxesOf(spaceId, alex.signingKey);
          expect(held.map((b) => b.epoch)).toEqual([7, 7]);
        }
      });

      it('leaves no box for a device removed while boxes are put for it', async () => {
        for (let round = 0; round < 3; round++) {
          const { spaceId, alex, sam } = await sealedSpace();
          const phone = await linkedDevice(sam);
          const [, removed, left] = await Promise.all([
            put(spaceId, alex.signingKey, 2, [boxFor(phone), boxFor(sam.signingKey)]),
            storage.devices.removeDevice(spaceId, phone, alex.signingKey, T0 + 5),
            storage.revokeDevice(spaceId, sam.signingKey, T0 + 5),
            put(spaceId, alex.signingKey, 3, [boxFor(phone), boxFor(sam.signingKey)]),
          ]);
          expect([removed, left]).toEqual([RemoveOutcome.removed, true]);
          expect(await boxesOf(spaceId, phone)).toEqual([]);
          expect(await boxesOf(spaceId, sam.signingKey)).toEqual([]);
        }
      });
    });
  });
}

function bytes32(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function box(): Uint8Array {
  return new Uint8Array(randomBytes(130));
}

function boxFor(signingKey: Uint8Array): EpochBoxFor {
  return { signingKey, box: box() };
}

function sortedBoxes(boxes: readonly EpochBox[]): string[] {
  return boxes.map((b) => `${b.epoch}:${Buffer.from(b.box).toString('hex')}`).sort();
}
