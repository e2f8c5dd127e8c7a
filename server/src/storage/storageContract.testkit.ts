import { randomBytes } from 'node:crypto';
import type { PartnerId, SpaceId } from '@mend/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NewPartner, NewSpace, StorageAdapter } from './StorageAdapter.js';

/**
 * The storage contract: every adapter (memory, SQLite, PostgreSQL) runs this same suite.
 *
 *   defineStorageContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 *
 * `open` is called before every test and must return a migrated-or-not adapter (the suite calls
 * `migrate()` itself); `dispose` after every test. Tests use fresh random space ids, so a shared
 * database between tests is fine.
 */
export function defineStorageContract(
  name: string,
  open: () => Promise<StorageAdapter>,
  dispose: (adapter: StorageAdapter) => Promise<void> = (adapter) => adapter.close(),
): void {
  describe(`storage contract: ${name}`, () => {
    let storage: StorageAdapter;

    beforeEach(async () => {
      storage = await open();
      await storage.migrate();
    });

    afterEach(async () => {
      await dispose(storage);
    });

    async function createSpace(): Promise<{ space: NewSpace; first: NewPartner }> {
      const space = newSpace();
      const first = newPartner(space.spaceId, 'Robin');
      await storage.createSpace(space, first);
      return { space, first };
    }

    describe('spaces and partners', () => {
      it('migrating twice is harmless', async () => {
        await storage.migrate();
        const { space } = await createSpace();
        expect(await storage.getSpace(space.spaceId)).not.toBeNull();
      });

      it('a created space is found with its invite unused and its first partner', async () => {
        const { space, first } = await createSpace();
        const stored = await storage.getSpace(space.spaceId);
        expect(stored).toEqual({ ...space, inviteUsedAt: null });
        expect(await storage.listPartners(space.spaceId)).toEqual([first]);
      });

      it('an unknown space is null and has no partners', async () => {
        expect(await storage.getSpace(newSpaceId())).toBeNull();
        expect(await storage.listPartners(newSpaceId())).toEqual([]);
      });

      it('a space without a name keeps null as its name', async () => {
        const space = { ...newSpace(), name: null };
        await storage.createSpace(space, newPartner(space.spaceId, 'Sam'));
        expect((await storage.getSpace(space.spaceId))?.name).toBeNull();
      });

      it('creating a space with an id that exists fails and changes nothing', async () => {
        const { space, first } = await createSpace();
        const again = { ...newSpace(), spaceId: space.spaceId };
        await expect(
          storage.createSpace(again, newPartner(space.spaceId, 'Other')),
        ).rejects.toThrow();
        expect(await storage.listPartners(space.spaceId)).toEqual([first]);
        expect((await storage.getSpace(space.spaceId))?.inviteHash).toEqual(space.inviteHash);
      });

      it('a partner is found by the hash of their token, and only by it', async () => {
        const { first } = await createSpace();
        expect(await storage.findPartnerByTokenHash(first.tokenHash)).toEqual(first);
        expect(await storage.findPartnerByTokenHash(randomBytes(32))).toBeNull();
      });

      it('the second partner joins once and marks the invite used', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        expect(await storage.addPartner(space.spaceId, second, 1_700_000_000_500)).toBe('added');
        expect((await storage.getSpace(space.spaceId))?.inviteUsedAt).toBe(1_700_000_000_500);
        const partners = await storage.listPartners(space.spaceId);
        expect(partners).toHaveLength(2);
        expect(partners).toEqual(expect.arrayContaining([first, second]));
        expect(await storage.findPartnerByTokenHash(second.tokenHash)).toEqual(second);
      });

      it('a used invite lets nobody else in', async () => {
        const { space } = await createSpace();
        await storage.addPartner(space.spaceId, newPartner(space.spaceId, 'Alex'), 1);
        const third = newPartner(space.spaceId, 'Intruder');
        expect(await storage.addPartner(space.spaceId, third, 2)).toBe('invite-used');
        expect(await storage.listPartners(space.spaceId)).toHaveLength(2);
        expect(await storage.findPartnerByTokenHash(third.tokenHash)).toBeNull();
      });

      it('two joins at the same moment never both succeed', async () => {
        const { space } = await createSpace();
        const results = await Promise.all(
          [0, 1, 2, 3].map((i) =>
            storage.addPartner(space.spaceId, newPartner(space.spaceId, `P${i}`), i),
          ),
        );
        expect(results.filter((r) => r === 'added')).toHaveLength(1);
        expect(await storage.listPartners(space.spaceId)).toHaveLength(2);
      });
    });

    describe('document checks', () => {
      it('are null until recorded, then hold the latest version, per partner', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        await storage.addPartner(space.spaceId, second, 1);
        expect(await storage.getDocCheck(space.spaceId, first.partnerId)).toBeNull();
        await storage.recordDocCheck(space.spaceId, first.partnerId, 1);
        await storage.recordDocCheck(space.spaceId, first.partnerId, 2);
        expect(await storage.getDocCheck(space.spaceId, first.partnerId)).toBe(2);
        expect(await storage.getDocCheck(space.spaceId, second.partnerId)).toBeNull();
      });

      it('ignore an unknown space or partner, and belong to their space', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await storage.recordDocCheck(newSpaceId(), a.first.partnerId, 1);
        await storage.recordDocCheck(a.space.spaceId, b.first.partnerId, 1);
        await storage.recordDocCheck(a.space.spaceId, 'p_unknown' as PartnerId, 1);
        expect(await storage.getDocCheck(a.space.spaceId, a.first.partnerId)).toBeNull();
        expect(await storage.getDocCheck(a.space.spaceId, b.first.partnerId)).toBeNull();
        expect(await storage.getDocCheck(b.space.spaceId, b.first.partnerId)).toBeNull();
      });

      it('go with their space', async () => {
        const { space, first } = await createSpace();
        await storage.recordDocCheck(space.spaceId, first.partnerId, 1);
        await storage.deleteSpace(space.spaceId);
        expect(await storage.getDocCheck(space.spaceId, first.partnerId)).toBeNull();
      });
    });

    describe('the update log', () => {
      it('a new space has no snapshot, no updates and no stored bytes', async () => {
        const { space } = await createSpace();
        expect(await storage.loadDoc(space.spaceId)).toEqual({ snapshot: null, updates: [] });
        expect(await storage.storedBytes(space.spaceId)).toBe(0);
      });

      it('appended updates come back byte for byte, in order, with increasing seqs', async () => {
        const { space } = await createSpace();
        const updates = [bytes(1, 2, 3), bytes(0), bytes(255, 0, 255), randomBytes(1 << 20)];
        const seqs: number[] = [];
        for (const update of updates) seqs.push(await storage.appendUpdate(space.spaceId, update));
        expect(isIncreasing(seqs)).toBe(true);
        const doc = await storage.loadDoc(space.spaceId);
        expect(doc.snapshot).toBeNull();
        expect(doc.updates.map((u) => u.seq)).toEqual(seqs);
        // Buffer.equals rather than toEqual: a deep diff of 1 MB takes seconds.
        expect(
          doc.updates.map((u, i) => Buffer.from(u.data).equals(updates[i] ?? bytes())),
        ).toEqual(updates.map(() => true));
      });

      it('loaded bytes are plain Uint8Arrays', async () => {
        const { space } = await createSpace();
        await storage.appendUpdate(space.spaceId, bytes(7, 7));
        await storage.replaceWithSnapshot(space.spaceId, bytes(9), 0);
        const doc = await storage.loadDoc(space.spaceId);
        expect(doc.snapshot).toBeInstanceOf(Uint8Array);
        expect(doc.updates[0]?.data).toBeInstanceOf(Uint8Array);
      });

      it('many appends at once are all kept, each with its own seq', async () => {
        const { space } = await createSpace();
        const seqs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => storage.appendUpdate(space.spaceId, bytes(i))),
        );
        expect(new Set(seqs).size).toBe(50);
        const doc = await storage.loadDoc(space.spaceId);
        expect(doc.updates.map((u) => u.data[0]).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
          Array.from({ length: 50 }, (_, i) => i),
        );
        expect(isIncreasing(doc.updates.map((u) => u.seq))).toBe(true);
      });

      it('spaces do not see each other’s updates', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await storage.appendUpdate(a.space.spaceId, bytes(1));
        await storage.appendUpdate(b.space.spaceId, bytes(2));
        const docA = await storage.loadDoc(a.space.spaceId);
        expect(docA.updates.map((u) => [...u.data])).toEqual([[1]]);
      });

      it('appending to a space that does not exist fails', async () => {
        await expect(storage.appendUpdate(newSpaceId(), bytes(1))).rejects.toThrow();
      });

      it('a snapshot replaces the updates up to its seq and keeps every later one', async () => {
        const { space } = await createSpace();
        const s1 = await storage.appendUpdate(space.spaceId, bytes(1));
        const s2 = await storage.appendUpdate(space.spaceId, bytes(2));
        const s3 = await storage.appendUpdate(space.spaceId, bytes(3));
        await storage.replaceWithSnapshot(space.spaceId, bytes(12), s2);
        const doc = await storage.loadDoc(space.spaceId);
        expect(s1).toBeLessThan(s2);
        expect([...(doc.snapshot ?? [])]).toEqual([12]);
        expect(doc.updates).toEqual([{ seq: s3, data: bytes(3) }]);
      });

      it('updates appended after a snapshot get seqs above the snapshot’s', async () => {
        const { space } = await createSpace();
        const s1 = await storage.appendUpdate(space.spaceId, bytes(1));
        await storage.replaceWithSnapshot(space.spaceId, bytes(1), s1);
        const s2 = await storage.appendUpdate(space.spaceId, bytes(2));
        expect(s2).toBeGreaterThan(s1);
        expect((await storage.loadDoc(space.spaceId)).updates).toEqual([
          { seq: s2, data: bytes(2) },
        ]);
      });

      it('an older snapshot arriving after a newer one is ignored', async () => {
        // Two processes may compact the same space: the one that read less must not win.
        const { space } = await createSpace();
        const s1 = await storage.appendUpdate(space.spaceId, bytes(1));
        const s2 = await storage.appendUpdate(space.spaceId, bytes(2));
        await storage.replaceWithSnapshot(space.spaceId, bytes(1, 2), s2);
        await storage.replaceWithSnapshot(space.spaceId, bytes(1), s1);
        const doc = await storage.loadDoc(space.spaceId);
        expect([...(doc.snapshot ?? [])]).toEqual([1, 2]);
        expect(doc.updates).toEqual([]);
      });

      it('stored bytes count the snapshot and every update', async () => {
        const { space } = await createSpace();
        const s1 = await storage.appendUpdate(space.spaceId, bytes(1, 2, 3));
        await storage.appendUpdate(space.spaceId, bytes(4, 5));
        expect(await storage.storedBytes(space.spaceId)).toBe(5);
        await storage.replaceWithSnapshot(space.spaceId, bytes(9, 9, 9, 9), s1);
        expect(await storage.storedBytes(space.spaceId)).toBe(6);
      });
    });

    describe('deleting a space', () => {
      it('removes the space, its partners, their tokens, updates and snapshot', async () => {
        const { space, first } = await createSpace();
        const second = newPartner(space.spaceId, 'Alex');
        await storage.addPartner(space.spaceId, second, 1);
        const s = await storage.appendUpdate(space.spaceId, bytes(1));
        await storage.replaceWithSnapshot(space.spaceId, bytes(1), s);
        await storage.appendUpdate(space.spaceId, bytes(2));

        await storage.deleteSpace(space.spaceId);

        expect(await storage.getSpace(space.spaceId)).toBeNull();
        expect(await storage.listPartners(space.spaceId)).toEqual([]);
        expect(await storage.findPartnerByTokenHash(first.tokenHash)).toBeNull();
        expect(await storage.findPartnerByTokenHash(second.tokenHash)).toBeNull();
        expect(await storage.loadDoc(space.spaceId)).toEqual({ snapshot: null, updates: [] });
        expect(await storage.storedBytes(space.spaceId)).toBe(0);
      });

      it('leaves other spaces untouched', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await storage.appendUpdate(b.space.spaceId, bytes(5));
        await storage.deleteSpace(a.space.spaceId);
        expect(await storage.getSpace(b.space.spaceId)).not.toBeNull();
        expect(await storage.findPartnerByTokenHash(b.first.tokenHash)).toEqual(b.first);
        expect((await storage.loadDoc(b.space.spaceId)).updates).toHaveLength(1);
      });

      it('an update appended after deletion fails instead of bringing data back', async () => {
        const { space } = await createSpace();
        await storage.deleteSpace(space.spaceId);
        await expect(storage.appendUpdate(space.spaceId, bytes(1))).rejects.toThrow();
        expect(await storage.loadDoc(space.spaceId)).toEqual({ snapshot: null, updates: [] });
      });

      it('deleting a space that does not exist is harmless', async () => {
        await expect(storage.deleteSpace(newSpaceId())).resolves.toBeUndefined();
      });
    });
  });
}

function newSpaceId(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}

function newSpace(): NewSpace {
  return {
    spaceId: newSpaceId(),
    name: 'Our space',
    createdAt: 1_700_000_000_000,
    inviteHash: new Uint8Array(randomBytes(32)),
  };
}

function newPartner(spaceId: SpaceId, displayName: string): NewPartner {
  return {
    partnerId: randomBytes(16).toString('base64url') as PartnerId,
    spaceId,
    displayName,
    tokenHash: new Uint8Array(randomBytes(32)),
    joinedAt: 1_700_000_000_000,
  };
}

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
}

function isIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] ?? -Infinity));
}
