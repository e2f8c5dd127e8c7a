import type { SpaceId } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { AdminError, repairSpace } from './adminCommands.js';
import { repairSpaceLog } from './spaceRepair.js';
import { MemoryAdapter } from './storage/MemoryAdapter.js';
import { PostgresAdapter } from './storage/PostgresAdapter.js';
import { SqliteAdapter } from './storage/SqliteAdapter.js';
import type { StorageAdapter } from './storage/StorageAdapter.js';
import { schemaPerRun } from './storage/storageFixtures.testkit.js';
import { pastSafeClocks, selfOrigin } from '@mend/model/testing';
import { testConfig } from './testConfig.testkit.js';
import { tempDirsPerTest } from './tempDirs.testkit.js';
import { createBareSpace } from './testSpaces.testkit.js';

const tempDir = tempDirsPerTest('mend-repair-');

/** An honest device's edits, one update each. */
function honestEdits(texts: string[]): Uint8Array[] {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  for (const text of texts) doc.getText('notes').insert(doc.getText('notes').length, text);
  return updates;
}

/** What a fresh device gets: the stored log, merged and applied. Throws if Yjs cannot. */
async function loadFresh(storage: StorageAdapter, spaceId: SpaceId): Promise<Y.Doc> {
  const stored = await storage.loadDoc(spaceId);
  const parts = [
    ...(stored.snapshot ? [stored.snapshot] : []),
    ...stored.updates.map((u) => u.data),
  ];
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.mergeUpdates(parts));
  Y.applyUpdate(new Y.Doc(), Y.encodeStateAsUpdate(doc));
  return doc;
}

/** A space whose log holds two honest edits, then a poisoning update, then a third edit. */
async function poisonedSpace(storage: StorageAdapter) {
  const spaceId = await createBareSpace(storage);
  const [first, second, third] = honestEdits(['one ', 'two ', 'three']);
  await storage.appendUpdate(spaceId, first!);
  await storage.appendUpdate(spaceId, second!);
  const poison = pastSafeClocks(7);
  const poisonSeq = await storage.appendUpdate(spaceId, poison);
  const throwing = selfOrigin(9);
  const throwingSeq = await storage.appendUpdate(spaceId, throwing);
  await storage.appendUpdate(spaceId, third!);
  return { spaceId, poison, poisonSeq, throwing, throwingSeq };
}

function defineRepairSuite(name: string, open: () => Promise<StorageAdapter>): void {
  describe(`repairing a space (${name})`, () => {
    it('drops the updates that leave the space unreadable, reports them, and keeps the rest', async () => {
      const storage = await open();
      const { spaceId, poison, poisonSeq, throwing, throwingSeq } = await poisonedSpace(storage);
      await expect(loadFresh(storage, spaceId)).rejects.toThrow();

      const report = await repairSpaceLog(storage, spaceId);

      expect(report).toMatchObject({
        outcome: 'repaired',
        kept: 3,
        dropped: [
          { seq: poisonSeq, bytes: poison.byteLength },
          { seq: throwingSeq, bytes: throwing.byteLength },
        ],
      });
      const stored = await storage.loadDoc(spaceId);
      expect(stored.snapshot).not.toBeNull();
      expect(stored.updates).toEqual([]);
      expect((await loadFresh(storage, spaceId)).getText('notes').toString()).toBe('one two three');
      await storage.close();
    });

    it('finds a poison that the update checks miss by loading the state after each update', async () => {
      const storage = await open();
      const { spaceId, poisonSeq } = await poisonedSpace(storage);
      const report = await repairSpaceLog(storage, spaceId, () => {});
      expect(report.outcome).toBe('repaired');
      expect(report.outcome === 'repaired' && report.dropped.map((d) => d.seq)).toContain(
        poisonSeq,
      );
      expect((await loadFresh(storage, spaceId)).getText('notes').toString()).toBe('one two three');
      await storage.close();
    });

    it('changes nothing in a space that loads cleanly', async () => {
      const storage = await open();
      const spaceId = await createBareSpace(storage);
      for (const update of honestEdits(['a', 'b'])) await storage.appendUpdate(spaceId, update);
      const before = await storage.loadDoc(spaceId);
      expect(await repairSpaceLog(storage, spaceId)).toEqual({ outcome: 'healthy', updates: 2 });
      expect(await storage.loadDoc(spaceId)).toEqual(before);
      await storage.close();
    });

    it('reports a snapshot that cannot be loaded and changes nothing', async () => {
      const storage = await open();
      const spaceId = await createBareSpace(storage);
      const poisoned = new Y.Doc();
      Y.applyUpdate(poisoned, pastSafeClocks(7));
      const seq = await storage.appendUpdate(spaceId, honestEdits(['kept'])[0]!);
      await storage.replaceWithSnapshot(spaceId, Y.encodeStateAsUpdate(poisoned), seq);
      const before = await storage.loadDoc(spaceId);
      const report = await repairSpaceLog(storage, spaceId);
      expect(report.outcome).toBe('unreadable-snapshot');
      expect(await storage.loadDoc(spaceId)).toEqual(before);
      await storage.close();
    });
  });
}

defineRepairSuite('memory', async () => new MemoryAdapter());
defineRepairSuite('SQLite', async () => {
  const storage = SqliteAdapter.inDirectory(tempDir());
  await storage.migrate();
  return storage;
});

const url = process.env.DATABASE_URL;
describe.skipIf(!url)('on PostgreSQL', () => {
  const schema = schemaPerRun(url, 'mend_repair');
  defineRepairSuite('PostgreSQL', async () => {
    const storage = new PostgresAdapter({ connectionString: url ?? '', schema, maxConnections: 2 });
    await storage.migrate();
    return storage;
  });
});

describe('the repair-space command', () => {
  it('lists what it dropped by sequence number and size', async () => {
    const dataDir = tempDir();
    const storage = SqliteAdapter.inDirectory(dataDir);
    await storage.migrate();
    const { spaceId, poison, poisonSeq } = await poisonedSpace(storage);
    await storage.close();
    const output = await repairSpace(testConfig({ dataDir }), spaceId);
    expect(output).toContain(`dropped 2 of 5 updates`);
    expect(output).toContain(`seq ${poisonSeq} (${poison.byteLength} bytes)`);
    expect(await repairSpace(testConfig({ dataDir }), spaceId)).toMatch(/loads cleanly/);
  });

  it('says plainly when there is no such space or the id is not one', async () => {
    const dataDir = tempDir();
    const storage = SqliteAdapter.inDirectory(dataDir);
    await storage.migrate();
    await storage.close();
    await expect(repairSpace(testConfig({ dataDir }), 'AAAAAAAAAAAAAAAAAAAAAA')).rejects.toThrow(
      /no space/,
    );
    await expect(repairSpace(testConfig({ dataDir }), 'not/an/id')).rejects.toBeInstanceOf(
      AdminError,
    );
  });
});
