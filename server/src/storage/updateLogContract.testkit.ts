import { randomBytes } from 'node:crypto';
import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import type { StorageAdapter, UpdateLog } from './StorageAdapter.js';
import {
  bytes,
  createSpaceWithPartner,
  migratedAdapterPerTest,
  newSpaceId,
  type DisposeAdapter,
  type OpenAdapter,
} from './storageFixtures.testkit.js';

/**
 * The update log's contract: every adapter (memory, SQLite, PostgreSQL) runs this suite, beside
 * the space directory's (`spaceDirectoryContract.testkit.ts`).
 *
 *   defineUpdateLogContract('SQLite', async () => openFreshAdapter(), async (a) => a.close());
 *
 * `open` is called before every test and returns an adapter, migrated or not (the suite calls
 * `migrate()` itself); `dispose` after every test.
 */
export function defineUpdateLogContract(
  name: string,
  open: OpenAdapter,
  dispose: DisposeAdapter = (adapter) => adapter.close(),
): void {
  describe(`update log contract: ${name}`, () => {
    let storage: StorageAdapter;
    /** The part under test; `storage` only creates the spaces a log belongs to. */
    let log: UpdateLog;

    migratedAdapterPerTest(open, dispose, (opened) => {
      storage = opened;
      log = opened;
    });

    async function createSpace(): Promise<SpaceId> {
      return (await createSpaceWithPartner(storage)).space.spaceId;
    }

    describe('appending and loading', () => {
      it('a new space has no snapshot, no updates and no stored bytes', async () => {
        const spaceId = await createSpace();
        expect(await log.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
        expect(await log.storedBytes(spaceId)).toBe(0);
      });

      it('appended updates come back byte for byte, in order, with increasing seqs', async () => {
        const spaceId = await createSpace();
        const updates = [bytes(1, 2, 3), bytes(0), bytes(255, 0, 255), randomBytes(1 << 20)];
        const seqs: number[] = [];
        for (const update of updates) seqs.push(await log.appendUpdate(spaceId, update));
        expect(isIncreasing(seqs)).toBe(true);
        const doc = await log.loadDoc(spaceId);
        expect(doc.snapshot).toBeNull();
        expect(doc.updates.map((u) => u.seq)).toEqual(seqs);
        // Buffer.equals rather than toEqual: a deep diff of 1 MB takes seconds.
        expect(
          doc.updates.map((u, i) => Buffer.from(u.data).equals(updates[i] ?? bytes())),
        ).toEqual(updates.map(() => true));
      });

      it('loaded bytes are plain Uint8Arrays', async () => {
        const spaceId = await createSpace();
        await log.appendUpdate(spaceId, bytes(7, 7));
        await log.replaceWithSnapshot(spaceId, bytes(9), 0);
        const doc = await log.loadDoc(spaceId);
        expect(doc.snapshot).toBeInstanceOf(Uint8Array);
        expect(doc.updates[0]?.data).toBeInstanceOf(Uint8Array);
      });

      it('many appends at once are all kept, each with its own seq', async () => {
        const spaceId = await createSpace();
        const seqs = await Promise.all(
          Array.from({ length: 50 }, (_, i) => log.appendUpdate(spaceId, bytes(i))),
        );
        expect(new Set(seqs).size).toBe(50);
        const doc = await log.loadDoc(spaceId);
        expect(doc.updates.map((u) => u.data[0]).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
          Array.from({ length: 50 }, (_, i) => i),
        );
        expect(isIncreasing(doc.updates.map((u) => u.seq))).toBe(true);
      });

      it('spaces do not see each other’s updates', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await log.appendUpdate(a, bytes(1));
        await log.appendUpdate(b, bytes(2));
        const docA = await log.loadDoc(a);
        expect(docA.updates.map((u) => [...u.data])).toEqual([[1]]);
      });

      it('appending to a space that does not exist fails', async () => {
        await expect(log.appendUpdate(newSpaceId(), bytes(1))).rejects.toThrow();
      });
    });

    describe('snapshots', () => {
      it('a snapshot replaces the updates up to its seq and keeps every later one', async () => {
        const spaceId = await createSpace();
        const s1 = await log.appendUpdate(spaceId, bytes(1));
        const s2 = await log.appendUpdate(spaceId, bytes(2));
        const s3 = await log.appendUpdate(spaceId, bytes(3));
        await log.replaceWithSnapshot(spaceId, bytes(12), s2);
        const doc = await log.loadDoc(spaceId);
        expect(s1).toBeLessThan(s2);
        expect([...(doc.snapshot ?? [])]).toEqual([12]);
        expect(doc.updates).toEqual([{ seq: s3, data: bytes(3) }]);
      });

      it('updates appended after a snapshot get seqs above the snapshot’s', async () => {
        const spaceId = await createSpace();
        const s1 = await log.appendUpdate(spaceId, bytes(1));
        await log.replaceWithSnapshot(spaceId, bytes(1), s1);
        const s2 = await log.appendUpdate(spaceId, bytes(2));
        expect(s2).toBeGreaterThan(s1);
        expect((await log.loadDoc(spaceId)).updates).toEqual([{ seq: s2, data: bytes(2) }]);
      });

      it('an older snapshot arriving after a newer one is ignored', async () => {
        // Two processes may compact the same space: the one that read less must not win.
        const spaceId = await createSpace();
        const s1 = await log.appendUpdate(spaceId, bytes(1));
        const s2 = await log.appendUpdate(spaceId, bytes(2));
        await log.replaceWithSnapshot(spaceId, bytes(1, 2), s2);
        await log.replaceWithSnapshot(spaceId, bytes(1), s1);
        const doc = await log.loadDoc(spaceId);
        expect([...(doc.snapshot ?? [])]).toEqual([1, 2]);
        expect(doc.updates).toEqual([]);
      });

      it('stored bytes count the snapshot and every update', async () => {
        const spaceId = await createSpace();
        const s1 = await log.appendUpdate(spaceId, bytes(1, 2, 3));
        await log.appendUpdate(spaceId, bytes(4, 5));
        expect(await log.storedBytes(spaceId)).toBe(5);
        await log.replaceWithSnapshot(spaceId, bytes(9, 9, 9, 9), s1);
        expect(await log.storedBytes(spaceId)).toBe(6);
      });
    });

    describe('deleting a space', () => {
      it('removes its updates and snapshot', async () => {
        const spaceId = await createSpace();
        const s = await log.appendUpdate(spaceId, bytes(1));
        await log.replaceWithSnapshot(spaceId, bytes(1), s);
        await log.appendUpdate(spaceId, bytes(2));

        await log.deleteSpace(spaceId);

        expect(await log.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
        expect(await log.storedBytes(spaceId)).toBe(0);
      });

      it('leaves other spaces’ updates untouched', async () => {
        const a = await createSpace();
        const b = await createSpace();
        await log.appendUpdate(b, bytes(5));
        await log.deleteSpace(a);
        expect((await log.loadDoc(b)).updates).toHaveLength(1);
      });

      it('an update appended after deletion fails instead of bringing data back', async () => {
        const spaceId = await createSpace();
        await log.deleteSpace(spaceId);
        await expect(log.appendUpdate(spaceId, bytes(1))).rejects.toThrow();
        expect(await log.loadDoc(spaceId)).toEqual({ snapshot: null, updates: [] });
      });

      it('deleting a space that does not exist is harmless', async () => {
        await expect(log.deleteSpace(newSpaceId())).resolves.toBeUndefined();
      });
    });
  });
}

function isIncreasing(values: number[]): boolean {
  return values.every((v, i) => i === 0 || v > (values[i - 1] ?? -Infinity));
}
