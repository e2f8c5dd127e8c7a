import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { createBareSpace } from '../testSpaces.testkit.js';
import { DocStore } from './DocStore.js';
import { SqliteAdapter } from './SqliteAdapter.js';

const dirs: string[] = [];
const adapters: SqliteAdapter[] = [];

afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function sqlite(): Promise<SqliteAdapter> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mend-docstore-'));
  dirs.push(dir);
  const adapter = SqliteAdapter.inDirectory(dir);
  adapters.push(adapter);
  await adapter.migrate();
  return adapter;
}

/** A client doc whose every edit is captured as an update. */
function editor(): { doc: Y.Doc; updates: Uint8Array[] } {
  const doc = new Y.Doc();
  const updates: Uint8Array[] = [];
  doc.on('update', (update: Uint8Array) => updates.push(update));
  return { doc, updates };
}

function textOf(update: Uint8Array): string {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
}

describe('DocStore', () => {
  it('loads a new space as an empty document', async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(storage, { compactAfterUpdates: 100, compactAfterBytes: 1 << 20 });
    expect(textOf(await store.load(spaceId))).toBe('');
  });

  it('compacts the log into one snapshot once it passes the update count', async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(storage, { compactAfterUpdates: 10, compactAfterBytes: 1 << 30 });
    const { doc, updates } = editor();
    for (let i = 0; i < 10; i++) doc.getText('t').insert(i, String(i % 10));
    for (const update of updates) await store.append(spaceId, update);
    await store.idle();
    const stored = await storage.loadDoc(spaceId);
    expect(stored.snapshot).not.toBeNull();
    expect(stored.updates).toHaveLength(0);
    expect(textOf(await store.load(spaceId))).toBe('0123456789');
  });

  it('compacts once the log passes the byte threshold', async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(storage, { compactAfterUpdates: 1000, compactAfterBytes: 2000 });
    const { doc, updates } = editor();
    doc.getText('t').insert(0, 'x'.repeat(3000));
    await store.append(spaceId, updates[0]!);
    await store.idle();
    expect((await storage.loadDoc(spaceId)).updates).toHaveLength(0);
  });

  it('loses nothing when compaction races with incoming edits', async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(storage, { compactAfterUpdates: 1e9, compactAfterBytes: 1e12 });
    const { doc, updates } = editor();
    const text = doc.getText('t');
    for (let i = 0; i < 300; i++) text.insert(text.length, `${i},`);
    for (const update of updates.slice(0, 150)) await store.append(spaceId, update);

    // Start compactions while the rest of the edits stream in, several times over.
    const racing: Promise<unknown>[] = [];
    for (const [i, update] of updates.slice(150).entries()) {
      racing.push(store.append(spaceId, update));
      if (i % 25 === 0) racing.push(store.compact(spaceId));
    }
    await Promise.all(racing);
    await store.idle();

    expect(textOf(await store.load(spaceId))).toBe(text.toString());
    await store.compact(spaceId);
    const stored = await storage.loadDoc(spaceId);
    expect(stored.updates).toHaveLength(0);
    expect(textOf(stored.snapshot!)).toBe(text.toString());
  });

  it('keeps an edit stored between compaction reading the log and replacing it', async () => {
    const { doc, updates } = editor();
    doc.getText('t').insert(0, 'before ');
    doc.getText('t').insert(7, 'during');
    const [early, late] = updates;
    let lateSeq = 0;
    class RacingStorage extends SqliteAdapter {
      override async replaceWithSnapshot(
        ...args: Parameters<SqliteAdapter['replaceWithSnapshot']>
      ): Promise<void> {
        lateSeq = await this.appendUpdate(args[0], late!);
        return super.replaceWithSnapshot(...args);
      }
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'mend-docstore-'));
    dirs.push(dir);
    const racing = new RacingStorage(path.join(dir, 'mend.sqlite'));
    adapters.push(racing);
    await racing.migrate();
    const storage = racing;
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(racing, { compactAfterUpdates: 1e9, compactAfterBytes: 1e12 });
    await store.append(spaceId, early!);
    await store.compact(spaceId);
    const stored = await storage.loadDoc(spaceId);
    expect(stored.updates.map((u) => u.seq)).toEqual([lateSeq]);
    expect(textOf(await store.load(spaceId))).toBe('before during');
  });

  it('garbage-collects deleted text when compacting', async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const store = new DocStore(storage, { compactAfterUpdates: 1e9, compactAfterBytes: 1e12 });
    const { doc, updates } = editor();
    doc.getText('t').insert(0, 'something said in anger, then taken back');
    doc.getText('t').delete(0, doc.getText('t').length);
    for (const update of updates) await store.append(spaceId, update);
    const before = await storage.storedBytes(spaceId);
    await store.compact(spaceId);
    expect(await storage.storedBytes(spaceId)).toBeLessThan(before);
    const snapshot = (await storage.loadDoc(spaceId)).snapshot!;
    expect(Buffer.from(snapshot).includes('anger')).toBe(false);
  });

  it("counts each space's stored bytes through load, appends and compaction, as storage does", async () => {
    const storage = await sqlite();
    const spaceId = await createBareSpace(storage);
    const other = await createBareSpace(storage);
    const store = new DocStore(
      storage,
      { compactAfterUpdates: 1e9, compactAfterBytes: 1e12 },
      null,
      null,
      10_000,
    );
    const { doc, updates } = editor();
    doc.getText('t').insert(0, 'a long evening of talking things through');
    doc.getText('t').delete(0, 7);
    for (const update of updates.splice(0)) await store.append(spaceId, update);
    expect(store.storedBytes(spaceId)).toBe(await storage.storedBytes(spaceId));
    await store.compact(spaceId);
    expect(store.storedBytes(spaceId)).toBe(await storage.storedBytes(spaceId));
    doc.getText('t').insert(0, 'and then ');
    for (const update of updates.splice(0)) await store.append(spaceId, update);
    const fresh = new DocStore(storage, { compactAfterUpdates: 1e9, compactAfterBytes: 1e12 });
    await fresh.load(spaceId);
    expect(fresh.storedBytes(spaceId)).toBe(await storage.storedBytes(spaceId));
    expect(store.storedBytes(spaceId)).toBe(await storage.storedBytes(spaceId));
    expect(store.hasRoomFor(spaceId, 10_000 - store.storedBytes(spaceId))).toBe(true);
    expect(store.hasRoomFor(spaceId, 10_001 - store.storedBytes(spaceId))).toBe(false);
    expect(store.hasRoomFor(other, 10_000)).toBe(true);
  });
});
