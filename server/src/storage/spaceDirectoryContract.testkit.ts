import { randomBytes } from 'node:crypto';
import type { PartnerId } from '@mend/protocol';
import { MAX_PARTNERS } from '@mend/model';
import { describe, expect, it } from 'vitest';
import type { SpaceDirectory, StorageAdapter } from './StorageAdapter.js';
import {
  bytes,
  createSealedSpaceWithDevice,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newDevice,
  newPartner,
  newSpace,
  newSpaceId,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/**
 * The space directory's contract: every adapter (memory, SQLite, PostgreSQL) runs this suite,
 * beside the update log's (`updateLogContract.testkit.ts`).
 *
 *   defineSpaceDirectoryContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 *
 * `open` is called before every test and returns an adapter, migrated or not (the suite calls
 * `migrate()` itself); `dispose` after every test.
 */
export function defineSpaceDirectoryContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`space directory contract: ${name}`, () => {
    let storage: StorageAdapter;
    /** The part under test; `storage` only migrates, and deletes (an UpdateLog method). */
    let directory: SpaceDirectory;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
      directory = opened;
    });

    const createSpace = () => createSpaceWithPartner(directory);

    describe('spaces and partners', () => {
      it('migrating twice is harmless', async () => {
        await storage.migrate();
        const { space } = await createSpace();
        expect(await directory.getSpace(space.spaceId)).not.toBeNull();
      });

      it('a created space is found with its invite unused and its first partner', async () => {
        const { space, first } = await createSpace();
        const stored = await directory.getSpace(space.spaceId);
        expect(stored).toEqual({
          ...space,
          inviteUsedAt: null,
          sealed: false,
          welcome: null,
          welcomeTakenAt: null,
        });
        expect(await directory.listPartners(space.spaceId)).toEqual([first]);
      });

      it('an unknown space is null and has no partners', async () => {
        expect(await directory.getSpace(newSpaceId())).toBeNull();
        expect(await directory.listPartners(newSpaceId())).toEqual([]);
      });

      it('a space without a name keeps null as its name', async () => {
        const space = { ...newSpace(), name: null };
        await directory.createSpace(space, newPartner(space.spaceId, 'Sam'));
        expect((await directory.getSpace(space.spaceId))?.name).toBeNull();
      });

      it('creating a space with an id that exists fails and changes nothing', async () => {
        const { space, first } = await createSpace();
        const again = { ...newSpace(), spaceId: space.spaceId };
        await expect(
          directory.createSpace(again, newPartner(space.spaceId, 'Other')),
        ).rejects.toThrow();
        expect(await directory.listPartners(space.spaceId)).toEqual([first]);
        expect((await directory.getSpace(space.spaceId))?.inviteHash).toEqual(space.inviteHash);
      });

      it('a partner is found by the hash of their token, and only by it', async () => {
        const { first } = await createSpace();
        expect(await directory.findPartnerByTokenHash(first.tokenHash)).toEqual(first);
        expect(await directory.findPartnerByTokenHash(randomBytes(32))).toBeNull();
      });

      it('the second partner joins once and marks the invite used', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        expect(await directory.addPartner(space.spaceId, second, 1_700_000_000_500)).toBe('added');
        expect((await directory.getSpace(space.spaceId))?.inviteUsedAt).toBe(1_700_000_000_500);
        const partners = await directory.listPartners(space.spaceId);
        expect(partners).toHaveLength(MAX_PARTNERS);
        expect(partners).toEqual(expect.arrayContaining([first, second]));
        expect(await directory.findPartnerByTokenHash(second.tokenHash)).toEqual(second);
      });

      it('a used invite lets nobody else in', async () => {
        const { space } = await createSpace();
        await directory.addPartner(space.spaceId, newPartner(space.spaceId, 'Alex'), 1);
        const third = newPartner(space.spaceId, 'Intruder');
        expect(await directory.addPartner(space.spaceId, third, 2)).toBe('invite-used');
        expect(await directory.listPartners(space.spaceId)).toHaveLength(MAX_PARTNERS);
        expect(await directory.findPartnerByTokenHash(third.tokenHash)).toBeNull();
      });

      it('two joins at the same moment never both succeed', async () => {
        const { space } = await createSpace();
        const results = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            directory.addPartner(space.spaceId, newPartner(space.spaceId, `P${i}`), i),
          ),
        );
        expect(results.filter((r) => r === 'added')).toHaveLength(1);
        expect(await directory.listPartners(space.spaceId)).toHaveLength(MAX_PARTNERS);
      });
    });

    describe('revoking a partner’s token (a device left the space)', () => {
      it('makes the token find nothing, for good, and keeps the partner in the space', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        await directory.addPartner(space.spaceId, second, 1);
        expect(await directory.revokePartner(space.spaceId, second.partnerId, 2)).toBe(true);
        expect(await directory.findPartnerByTokenHash(second.tokenHash)).toBeNull();
        expect(await directory.findPartnerByTokenHash(first.tokenHash)).toEqual(first);
        expect(await directory.listPartners(space.spaceId)).toEqual(
          expect.arrayContaining([first, second]),
        );
        expect(await directory.revokePartner(space.spaceId, second.partnerId, 3)).toBe(false);
        expect(await directory.findPartnerByTokenHash(second.tokenHash)).toBeNull();
      });

      it('changes nothing for an unknown partner or space, or a partner of another space', async () => {
        const { space, first } = await createSpace();
        const other = await createSpace();
        expect(
          await directory.revokePartner(space.spaceId, 'NoSuchPartner_0123' as PartnerId, 1),
        ).toBe(false);
        expect(await directory.revokePartner(newSpaceId(), first.partnerId, 1)).toBe(false);
        expect(await directory.revokePartner(other.space.spaceId, first.partnerId, 1)).toBe(false);
        expect(await directory.findPartnerByTokenHash(first.tokenHash)).toEqual(first);
      });
    });

    describe('document checks', () => {
      it('are null until recorded, then hold the latest version, per partner', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        await directory.addPartner(space.spaceId, second, 1);
        expect(await directory.getDocCheck(space.spaceId, first.partnerId)).toBeNull();
        await directory.recordDocCheck(space.spaceId, first.partnerId, 1);
        await directory.recordDocCheck(space.spaceId, first.partnerId, 2);
        expect(await directory.getDocCheck(space.spaceId, first.partnerId)).toBe(2);
        expect(await directory.getDocCheck(space.spaceId, second.partnerId)).toBeNull();
      });

      it('ignore an unknown space or partner, and belong to their space', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await directory.recordDocCheck(newSpaceId(), a.first.partnerId, 1);
        await directory.recordDocCheck(a.space.spaceId, b.first.partnerId, 1);
        await directory.recordDocCheck(a.space.spaceId, 'p_unknown' as PartnerId, 1);
        expect(await directory.getDocCheck(a.space.spaceId, a.first.partnerId)).toBeNull();
        expect(await directory.getDocCheck(a.space.spaceId, b.first.partnerId)).toBeNull();
        expect(await directory.getDocCheck(b.space.spaceId, b.first.partnerId)).toBeNull();
      });

      it('go with their space', async () => {
        const { space, first } = await createSpace();
        await directory.recordDocCheck(space.spaceId, first.partnerId, 1);
        await storage.deleteSpace(space.spaceId);
        expect(await directory.getDocCheck(space.spaceId, first.partnerId)).toBeNull();
      });
    });

    describe('sealed spaces', () => {
      it('store no name, keep the welcome box, and find the first device by its token', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        expect(await directory.getSpace(space.spaceId)).toEqual({
          spaceId: space.spaceId,
          name: null,
          createdAt: space.createdAt,
          inviteHash: space.inviteHash,
          inviteUsedAt: null,
          sealed: true,
          welcome: space.welcome,
          welcomeTakenAt: null,
        });
        expect(await directory.listDevices(space.spaceId)).toEqual([first]);
        expect(await directory.findDeviceByTokenHash(first.tokenHash)).toEqual(first);
        expect(await directory.findDeviceByTokenHash(randomBytes(32))).toBeNull();
        expect(await directory.listPartners(space.spaceId)).toEqual([]);
        expect(await directory.findPartnerByTokenHash(first.tokenHash)).toBeNull();
      });

      it('let the second partner’s device in once, marking the invite used and dropping the welcome', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const second = newDevice(space.spaceId);
        expect(await directory.addSealedPartner(space.spaceId, second, 1_700_000_000_900)).toBe(
          'added',
        );
        const stored = await directory.getSpace(space.spaceId);
        expect(stored?.inviteUsedAt).toBe(1_700_000_000_900);
        expect(stored?.welcome).toBeNull();
        const devices = await directory.listDevices(space.spaceId);
        expect(devices).toHaveLength(2);
        expect(devices).toEqual(expect.arrayContaining([first, second]));
        const third = newDevice(space.spaceId);
        expect(await directory.addSealedPartner(space.spaceId, third, 2)).toBe('invite-used');
        expect(await directory.findDeviceByTokenHash(third.tokenHash)).toBeNull();
      });

      it('hand the welcome box over for the invite hash, which becomes the join hash, and again for the join hash', async () => {
        const { space } = await createSealedSpaceWithDevice(directory);
        const joinHash = new Uint8Array(randomBytes(32));
        const other = new Uint8Array(randomBytes(32));
        expect(await directory.handOverWelcome(space.spaceId, other, joinHash, 7)).toBeNull();
        expect((await directory.getSpace(space.spaceId))?.welcomeTakenAt).toBeNull();
        expect(
          await directory.handOverWelcome(space.spaceId, space.inviteHash, joinHash, 7),
        ).toEqual(space.welcome);
        const stored = await directory.getSpace(space.spaceId);
        expect(stored?.welcome).toEqual(space.welcome);
        expect(stored?.welcomeTakenAt).toBe(7);
        expect(stored?.inviteHash).toEqual(joinHash);
        expect(stored?.inviteUsedAt).toBeNull();
        // The same device again: the same box; the link's hash with another join hash: nothing.
        expect(
          await directory.handOverWelcome(space.spaceId, space.inviteHash, joinHash, 8),
        ).toEqual(space.welcome);
        expect(
          await directory.handOverWelcome(space.spaceId, space.inviteHash, other, 9),
        ).toBeNull();
        expect((await directory.getSpace(space.spaceId))?.welcomeTakenAt).toBe(7);
        // The join takes the box; nothing is handed over after it.
        const second = newDevice(space.spaceId);
        expect(await directory.addSealedPartner(space.spaceId, second, 10)).toBe('added');
        expect((await directory.getSpace(space.spaceId))?.welcome).toBeNull();
        expect(
          await directory.handOverWelcome(space.spaceId, space.inviteHash, joinHash, 11),
        ).toBeNull();
      });

      it('hand the welcome box to one of several first fetches at the same moment', async () => {
        const { space } = await createSealedSpaceWithDevice(directory);
        const boxes = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            directory.handOverWelcome(
              space.spaceId,
              space.inviteHash,
              new Uint8Array(randomBytes(32)),
              i,
            ),
          ),
        );
        expect(boxes.filter((b) => b !== null)).toEqual([space.welcome]);
        const plain = await createSpace();
        expect(
          await directory.handOverWelcome(
            plain.space.spaceId,
            plain.space.inviteHash,
            new Uint8Array(32),
            1,
          ),
        ).toBeNull();
      });

      it('renew the token of a device with both its keys, and of no other', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const fresh = new Uint8Array(randomBytes(32));
        const keys = { signingKey: first.signingKey, agreementKey: first.agreementKey };
        expect(
          await directory.renewDeviceToken(
            space.spaceId,
            { ...keys, agreementKey: new Uint8Array(32) },
            fresh,
          ),
        ).toBe(false);
        expect(await directory.renewDeviceToken(newSpaceId(), keys, fresh)).toBe(false);
        expect(await directory.renewDeviceToken(space.spaceId, keys, fresh)).toBe(true);
        expect(await directory.findDeviceByTokenHash(first.tokenHash)).toBeNull();
        expect((await directory.findDeviceByTokenHash(fresh))?.signingKey).toEqual(
          first.signingKey,
        );
      });

      it('revoke a device for good: its token finds nothing, it keeps its seat and gets no new token', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const second = newDevice(space.spaceId);
        await directory.addSealedPartner(space.spaceId, second, 1);
        expect(await directory.isRevokedDeviceToken(second.tokenHash)).toBe(false);
        expect(await directory.revokeDevice(space.spaceId, second.signingKey, 2)).toBe(true);
        expect(await directory.findDeviceByTokenHash(second.tokenHash)).toBeNull();
        expect(await directory.isRevokedDeviceToken(second.tokenHash)).toBe(true);
        expect(await directory.findDeviceByTokenHash(first.tokenHash)).toEqual(first);
        expect(await directory.isRevokedDeviceToken(first.tokenHash)).toBe(false);
        expect(await directory.isRevokedDeviceToken(new Uint8Array(randomBytes(32)))).toBe(false);
        const devices = await directory.listDevices(space.spaceId);
        expect(devices).toHaveLength(2);
        expect(devices).toEqual(expect.arrayContaining([first, second]));
        const keys = { signingKey: second.signingKey, agreementKey: second.agreementKey };
        const fresh = new Uint8Array(randomBytes(32));
        expect(await directory.renewDeviceToken(space.spaceId, keys, fresh)).toBe(false);
        expect(await directory.findDeviceByTokenHash(fresh)).toBeNull();
        expect(await directory.revokeDevice(space.spaceId, second.signingKey, 3)).toBe(false);
        // The seat stays taken: a third device cannot join in its place.
        expect(await directory.addSealedPartner(space.spaceId, newDevice(space.spaceId), 4)).toBe(
          'invite-used',
        );
      });

      it('revoke nothing for an unknown device or space, or a device of another space', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const other = await createSealedSpaceWithDevice(directory);
        expect(await directory.revokeDevice(space.spaceId, new Uint8Array(32), 1)).toBe(false);
        expect(await directory.revokeDevice(newSpaceId(), first.signingKey, 1)).toBe(false);
        expect(await directory.revokeDevice(other.space.spaceId, first.signingKey, 1)).toBe(false);
        expect(await directory.findDeviceByTokenHash(first.tokenHash)).toEqual(first);
      });

      it('never let two joins at the same moment both succeed', async () => {
        const { space } = await createSealedSpaceWithDevice(directory);
        const results = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            directory.addSealedPartner(space.spaceId, newDevice(space.spaceId), i),
          ),
        );
        expect(results.filter((r) => r === 'added')).toHaveLength(1);
        expect(await directory.listDevices(space.spaceId)).toHaveLength(MAX_PARTNERS);
      });

      it('take no partner rows, and plaintext spaces take no devices', async () => {
        const sealed = await createSealedSpaceWithDevice(directory);
        const plain = await createSpace();
        await expect(
          directory.addPartner(sealed.space.spaceId, newPartner(sealed.space.spaceId, 'Sam'), 1),
        ).rejects.toThrow();
        await expect(
          directory.addSealedPartner(plain.space.spaceId, newDevice(plain.space.spaceId), 1),
        ).rejects.toThrow();
        expect(await directory.listPartners(sealed.space.spaceId)).toEqual([]);
        expect(await directory.listDevices(plain.space.spaceId)).toEqual([]);
        expect((await directory.getSpace(sealed.space.spaceId))?.inviteUsedAt).toBeNull();
      });

      it('hold one device per signing key', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const copy = { ...newDevice(space.spaceId), signingKey: first.signingKey };
        await expect(directory.addSealedPartner(space.spaceId, copy, 1)).rejects.toThrow();
        expect(await directory.listDevices(space.spaceId)).toEqual([first]);
      });

      it('go with everything in them when deleted', async () => {
        const { space, first } = await createSealedSpaceWithDevice(directory);
        const second = newDevice(space.spaceId);
        await directory.addSealedPartner(space.spaceId, second, 1);
        await storage.deleteSpace(space.spaceId);
        expect(await directory.getSpace(space.spaceId)).toBeNull();
        expect(await directory.listDevices(space.spaceId)).toEqual([]);
        expect(await directory.findDeviceByTokenHash(first.tokenHash)).toBeNull();
        expect(await directory.findDeviceByTokenHash(second.tokenHash)).toBeNull();
      });
    });

    describe('deleting a space', () => {
      it('removes the space, its partners and their tokens', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        await directory.addPartner(space.spaceId, second, 1);
        await storage.appendUpdate(space.spaceId, bytes(1));

        await storage.deleteSpace(space.spaceId);

        expect(await directory.getSpace(space.spaceId)).toBeNull();
        expect(await directory.listPartners(space.spaceId)).toEqual([]);
        expect(await directory.findPartnerByTokenHash(first.tokenHash)).toBeNull();
        expect(await directory.findPartnerByTokenHash(second.tokenHash)).toBeNull();
      });

      it('leaves other spaces and their partners untouched', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await storage.deleteSpace(a.space.spaceId);
        expect(await directory.getSpace(b.space.spaceId)).not.toBeNull();
        expect(await directory.findPartnerByTokenHash(b.first.tokenHash)).toEqual(b.first);
      });
    });
  });
}
