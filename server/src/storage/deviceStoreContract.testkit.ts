import { randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import {
  KitOutcome,
  RemoveOutcome,
  type RecoveryAttempt,
  type RecoveryKit,
  type RecoveryLimit,
} from './DeviceStore.js';
import type { NewDevice, StorageAdapter } from './StorageAdapter.js';
import {
  createSealedSpaceWithTwoSeats,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

const T0 = 1_700_000_000_000;
const CHALLENGE_MS = 2 * 60_000;
const HOUR = 60 * 60_000;
const LIMIT: RecoveryLimit = { failures: 5, windowMs: HOUR };

/**
 * The contract of DeviceStore (docs/protocol.md, "Removing a device" and "Recovery kit"): every
 * adapter (memory, SQLite, PostgreSQL) runs this suite.
 *
 *   defineDeviceStoreContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 */
export function defineDeviceStoreContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`device store contract: ${name}`, () => {
    let storage: StorageAdapter;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
    });

    /** A sealed space with Alex's device and Sam's (added after Alex's), each its own seat. */
    const sealedSpace = () => createSealedSpaceWithTwoSeats(storage, T0 + 1);

    async function kitOf(spaceId: SpaceId, by: NewDevice, at = T0): Promise<RecoveryKit> {
      const kit = newKit();
      const result = await storage.devices.putRecoveryKit(spaceId, by.signingKey, kit, at);
      expect(result.outcome).toBe(KitOutcome.stored);
      return kit;
    }

    async function challenge(spaceId: SpaceId, at = T0): Promise<Uint8Array> {
      const hash = bytes32();
      expect(await storage.devices.issueChallenge(spaceId, hash, at, at + CHALLENGE_MS)).toBe(true);
      return hash;
    }

    function attemptOf(kit: RecoveryKit, challengeHash: Uint8Array): RecoveryAttempt {
      return {
        signingKey: kit.signingKey,
        challengeHash,
        signatureValid: true,
        tokenHash: bytes32(),
      };
    }

    it('lists every device with its seat, times and recovery flag, removed ones too', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      await storage.devices.markSeen(spaceId, sam.signingKey, T0 + 5);
      await storage.devices.markSeen(spaceId, sam.signingKey, T0 + 9);
      const kit = await kitOf(spaceId, alex, T0 + 10);
      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0 + 20)).toBe(true);
      expect(await storage.devices.listDeviceDetails(spaceId)).toEqual([
        {
          partnerId: alex.partnerId,
          signingKey: alex.signingKey,
          addedAt: alex.addedAt,
          lastSeenAt: null,
          removedAt: null,
          recovery: false,
        },
        {
          partnerId: sam.partnerId,
          signingKey: sam.signingKey,
          addedAt: T0 + 1,
          lastSeenAt: T0 + 9,
          removedAt: T0 + 20,
          recovery: false,
        },
        {
          partnerId: alex.partnerId,
          signingKey: kit.signingKey,
          addedAt: T0 + 10,
          lastSeenAt: null,
          removedAt: null,
          recovery: true,
        },
      ]);
      expect(await storage.devices.listDeviceDetails(newSpaceIdOf())).toEqual([]);
    });

    it('removes another device of the space: its token finds nothing, and again changes nothing', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const removal = storage.devices.removeDevice(
        spaceId,
        sam.signingKey,
        alex.signingKey,
        T0 + 1,
      );
      expect(await removal).toBe(RemoveOutcome.removed);
      expect(await storage.findDeviceByTokenHash(sam.tokenHash)).toBeNull();
      expect(
        await storage.devices.removeDevice(spaceId, sam.signingKey, alex.signingKey, T0 + 2),
      ).toBe(RemoveOutcome.removedAlready);
      const listed = await storage.devices.listDeviceDetails(spaceId);
      expect(listed.map((d) => d.removedAt)).toEqual([null, T0 + 1]);
      expect(await storage.renewDeviceToken(spaceId, sam, bytes32())).toBe(false);
    });

    it('refuses to remove an unknown device, the remover itself, or by a device that is not current', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const devices = storage.devices;
      expect(await devices.removeDevice(spaceId, bytes32(), alex.signingKey, T0)).toBe(
        RemoveOutcome.unknown,
      );
      expect(await devices.removeDevice(spaceId, alex.signingKey, alex.signingKey, T0)).toBe(
        RemoveOutcome.self,
      );
      expect(await devices.removeDevice(spaceId, alex.signingKey, bytes32(), T0)).toBe(
        RemoveOutcome.notADevice,
      );
      expect(await storage.revokeDevice(spaceId, sam.signingKey, T0)).toBe(true);
      expect(await devices.removeDevice(spaceId, alex.signingKey, sam.signingKey, T0)).toBe(
        RemoveOutcome.notADevice,
      );
      const other = await sealedSpace();
      expect(
        await devices.removeDevice(other.spaceId, other.sam.signingKey, alex.signingKey, T0),
      ).toBe(RemoveOutcome.notADevice);
      const plain = await createSpaceWithPartner(storage);
      expect(await devices.removeDevice(plain.space.spaceId, bytes32(), bytes32(), T0)).toBe(
        RemoveOutcome.notADevice,
      );
      expect(await storage.findDeviceByTokenHash(alex.tokenHash)).not.toBeNull();
    });

    it('adds a recovery device to the caller’s seat with a token nobody holds, and the same kit again changes nothing', async () => {
      const { spaceId, alex } = await sealedSpace();
      const kit = await kitOf(spaceId, alex, T0 + 1);
      const device = await storage.findDeviceByTokenHash(kit.tokenHash);
      expect(device).toEqual({
        spaceId,
        partnerId: alex.partnerId,
        signingKey: kit.signingKey,
        agreementKey: kit.agreementKey,
        tokenHash: kit.tokenHash,
        addedAt: T0 + 1,
      });
      const again = { ...kit, tokenHash: bytes32() };
      expect(await storage.devices.putRecoveryKit(spaceId, alex.signingKey, again, T0 + 2)).toEqual(
        { outcome: KitOutcome.unchanged },
      );
      expect(await storage.findDeviceByTokenHash(kit.tokenHash)).not.toBeNull();
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
    });

    it('replaces the seat’s earlier recovery device, not the other seat’s', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const samsKit = await kitOf(spaceId, sam);
      const first = await kitOf(spaceId, alex, T0 + 1);
      const second = newKit();
      expect(
        await storage.devices.putRecoveryKit(spaceId, alex.signingKey, second, T0 + 2),
      ).toEqual({ outcome: KitOutcome.stored, replaced: [first.signingKey] });
      const listed = await storage.devices.listDeviceDetails(spaceId);
      const current = listed.filter((d) => d.recovery && d.removedAt === null);
      expect(current.map((d) => d.signingKey)).toEqual([samsKit.signingKey, second.signingKey]);
      // The replaced one cannot be recovered, nor put back.
      const attempt = attemptOf(first, await challenge(spaceId, T0 + 3));
      expect(await storage.devices.recover(spaceId, attempt, T0 + 3, LIMIT)).toEqual({
        outcome: 'refused',
      });
      expect(
        (await storage.devices.putRecoveryKit(spaceId, alex.signingKey, first, T0 + 4)).outcome,
      ).toBe(KitOutcome.deviceTaken);
    });

    it('refuses a kit whose key is another device of the space, or from a device that is not current', async () => {
      const { spaceId, alex, sam } = await sealedSpace();
      const devices = storage.devices;
      for (const signingKey of [alex.signingKey, sam.signingKey]) {
        expect(
          (await devices.putRecoveryKit(spaceId, alex.signingKey, { ...newKit(), signingKey }, T0))
            .outcome,
        ).toBe(KitOutcome.deviceTaken);
      }
      const samsKit = await kitOf(spaceId, sam);
      // Sam's recovery key, offered by Alex (another seat), or with another box: taken.
      expect((await devices.putRecoveryKit(spaceId, alex.signingKey, samsKit, T0)).outcome).toBe(
        KitOutcome.deviceTaken,
      );
      expect(
        (await devices.putRecoveryKit(spaceId, sam.signingKey, { ...samsKit, box: box() }, T0))
          .outcome,
      ).toBe(KitOutcome.deviceTaken);
      expect((await devices.putRecoveryKit(spaceId, bytes32(), newKit(), T0)).outcome).toBe(
        KitOutcome.notADevice,
      );
      expect(await storage.revokeDevice(spaceId, alex.signingKey, T0)).toBe(true);
      expect((await devices.putRecoveryKit(spaceId, alex.signingKey, newKit(), T0)).outcome).toBe(
        KitOutcome.notADevice,
      );
      expect(await storage.listDevices(spaceId)).toHaveLength(3);
    });

    it('recovers with a live challenge: a new token for the recovery device, its seat and box', async () => {
      const { spaceId, alex } = await sealedSpace();
      const kit = await kitOf(spaceId, alex);
      const attempt = attemptOf(kit, await challenge(spaceId, T0 + 1));
      expect(await storage.devices.recover(spaceId, attempt, T0 + 2, LIMIT)).toEqual({
        outcome: 'recovered',
        partnerId: alex.partnerId,
        box: kit.box,
      });
      expect((await storage.findDeviceByTokenHash(attempt.tokenHash))?.signingKey).toEqual(
        kit.signingKey,
      );
      expect(await storage.findDeviceByTokenHash(kit.tokenHash)).toBeNull();
    });

    it('uses a challenge once, and refuses an expired one, a bad signature, an unknown or ordinary device', async () => {
      const { spaceId, alex } = await sealedSpace();
      const kit = await kitOf(spaceId, alex);
      const recover = (attempt: RecoveryAttempt, at: number) =>
        storage.devices.recover(spaceId, attempt, at, LIMIT);
      const refused = { outcome: 'refused' };

      const once = await challenge(spaceId, T0);
      expect((await recover(attemptOf(kit, once), T0 + 1)).outcome).toBe('recovered');
      expect(await recover(attemptOf(kit, once), T0 + 2)).toEqual(refused);

      const expired = await challenge(spaceId, T0);
      expect(await recover(attemptOf(kit, expired), T0 + CHALLENGE_MS)).toEqual(refused);
      expect(await recover(attemptOf(kit, bytes32()), T0 + 3)).toEqual(refused);

      const badSignature = {
        ...attemptOf(kit, await challenge(spaceId, T0)),
        signatureValid: false,
      };
      expect(await recover(badSignature, T0 + 4)).toEqual(refused);
      // The challenge went with the failed attempt.
      expect(await recover({ ...badSignature, signatureValid: true }, T0 + 5)).toEqual(refused);
    });

    it('counts five failures of a space in an hour, then refuses every attempt until the oldest is an hour old', async () => {
      const { spaceId, alex } = await sealedSpace();
      const other = await sealedSpace();
      const kit = await kitOf(spaceId, alex);
      const recover = (attempt: RecoveryAttempt, at: number, space = spaceId) =>
        storage.devices.recover(space, attempt, at, LIMIT);
      for (let i = 0; i < 5; i++) {
        const wrong = {
          ...attemptOf(kit, await challenge(spaceId, T0 + i)),
          signingKey: bytes32(),
        };
        expect(await recover(wrong, T0 + i)).toEqual({ outcome: 'refused' });
      }
      const good = await challenge(spaceId, T0 + 10);
      expect(await recover(attemptOf(kit, good), T0 + 10)).toEqual({
        outcome: 'limited',
        retryAt: T0 + HOUR,
      });
      // Refused without using the challenge, and another space is not limited.
      const othersKit = await kitOf(other.spaceId, other.alex);
      const othersChallenge = await challenge(other.spaceId, T0 + 10);
      const othersAttempt = attemptOf(othersKit, othersChallenge);
      expect((await recover(othersAttempt, T0 + 10, other.spaceId)).outcome).toBe('recovered');
      const later = T0 + HOUR;
      const fresh = await challenge(spaceId, later);
      expect((await recover(attemptOf(kit, fresh), later)).outcome).toBe('recovered');
    });

    it('refuses recovery in a plaintext or unknown space, and issues no challenge there', async () => {
      const plain = await createSpaceWithPartner(storage);
      const spaceId = plain.space.spaceId;
      expect(await storage.devices.issueChallenge(spaceId, bytes32(), T0, T0 + 1)).toBe(false);
      expect(await storage.devices.issueChallenge(newSpaceIdOf(), bytes32(), T0, T0 + 1)).toBe(
        false,
      );
      const attempt = attemptOf(newKit(), bytes32());
      expect(await storage.devices.recover(spaceId, attempt, T0, LIMIT)).toEqual({
        outcome: 'refused',
      });
    });

    it('deletes a space’s recovery devices, challenges and failures with the space', async () => {
      const { spaceId, alex } = await sealedSpace();
      const kit = await kitOf(spaceId, alex);
      const hash = await challenge(spaceId);
      await storage.devices.recover(spaceId, { ...attemptOf(kit, bytes32()) }, T0, LIMIT);
      await storage.deleteSpace(spaceId);
      expect(await storage.devices.listDeviceDetails(spaceId)).toEqual([]);
      expect(await storage.devices.recover(spaceId, attemptOf(kit, hash), T0, LIMIT)).toEqual({
        outcome: 'refused',
      });
    });

    describe('at the same moment', () => {
      it('lets two recoveries with two challenges succeed in turn, and only the last token work', async () => {
        const { spaceId, alex } = await sealedSpace();
        const kit = await kitOf(spaceId, alex);
        const attempts = [
          attemptOf(kit, await challenge(spaceId)),
          attemptOf(kit, await challenge(spaceId)),
        ];
        const results = await Promise.all(
          attempts.map((a) => storage.devices.recover(spaceId, a, T0 + 1, LIMIT)),
        );
        expect(results.map((r) => r.outcome)).toEqual(['recovered', 'recovered']);
        const working = await Promise.all(
          attempts.map(async (a) => (await storage.findDeviceByTokenHash(a.tokenHash)) !== null),
        );
        expect(working.filter(Boolean)).toHaveLength(1);
      });

      it('lets one of two attempts with one challenge win', async () => {
        const { spaceId, alex } = await sealedSpace();
        const kit = await kitOf(spaceId, alex);
        const hash = await challenge(spaceId);
        const attempts = [attemptOf(kit, hash), attemptOf(kit, hash)];
        const results = await Promise.all(
          attempts.map((a) => storage.devices.recover(spaceId, a, T0 + 1, LIMIT)),
        );
        expect(results.map((r) => r.outcome).sort()).toEqual(['recovered', 'refused']);
        const won = attempts[results.findIndex((r) => r.outcome === 'recovered')];
        expect(await storage.findDeviceByTokenHash(won?.tokenHash ?? bytes32())).not.toBeNull();
      });

      it('leaves a seat one current recovery device when two kits are put at once', async () => {
        for (let round = 0; round < 3; round++) {
          const { spaceId, alex } = await sealedSpace();
          const kits = [newKit(), newKit()];
          const results = await Promise.all(
            kits.map((kit) => storage.devices.putRecoveryKit(spaceId, alex.signingKey, kit, T0)),
          );
          expect(results.map((r) => r.outcome)).toEqual([KitOutcome.stored, KitOutcome.stored]);
          const current = (await storage.devices.listDeviceDetails(spaceId)).filter(
            (d) => d.recovery && d.removedAt === null,
          );
          expect(current).toHaveLength(1);
        }
      });

      it('removes a device once when two devices remove it at once', async () => {
        const { spaceId, alex, sam } = await sealedSpace();
        const kit = await kitOf(spaceId, alex);
        const results = await Promise.all([
          storage.devices.removeDevice(spaceId, kit.signingKey, alex.signingKey, T0 + 1),
          storage.devices.removeDevice(spaceId, kit.signingKey, sam.signingKey, T0 + 1),
        ]);
        expect([...results].sort()).toEqual([RemoveOutcome.removed, RemoveOutcome.removedAlready]);
      });
    });
  });
}

function bytes32(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

function box(): Uint8Array {
  return new Uint8Array(randomBytes(200));
}

function newKit(): RecoveryKit {
  return {
    signingKey: bytes32(),
    agreementKey: bytes32(),
    box: box(),
    linkSeq: 9,
    tokenHash: bytes32(),
  };
}

function newSpaceIdOf(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}
