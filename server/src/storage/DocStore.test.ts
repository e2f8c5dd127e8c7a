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
      { maxSpaceBytes: 10_000 },
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

describe('DocStore compaction schedule', () => {
  /** A random source that returns `values` in turn. */
  function drawing(values: number[]): () => number {
    let next = 0;
    return () => values[next++ % values.length]!;
  }

  /** `count` one-character edits, each its own update. */
  function edits(count: number): { text: string; updates: Uint8Array[] } {
    const { doc, updates } = editor();
    for (let i = 0; i < count; i++) doc.getText('t').insert(i, String(i % 10));
    return { text: doc.getText('t').toString(), updates };
  }

  /** A SQLite adapter whose compactions wait at a gate the test opens, counting who is inside. */
  class GatedStorage extends SqliteAdapter {
    inside = 0;
    mostInside = 0;
    started = 0;
    #openGate: () => void = () => {};
    readonly #gate = new Promise<void>((resolve) => (this.#openGate = resolve));
    #arrivals: { count: number; resolve: () => void }[] = [];

    /** Resolves once `count` compactions are waiting at the gate. */
    arrived(count: number): Promise<void> {
      return new Promise((resolve) => {
        this.#arrivals.push({ count, resolve });
        this.#check();
      });
    }

    open(): void {
      this.#openGate();
    }

    override async loadDoc(...args: Parameters<SqliteAdapter['loadDoc']>) {
      this.started += 1;
      this.inside += 1;
      this.mostInside = Math.max(this.mostInside, this.inside);
      return super.loadDoc(...args);
    }

    override async replaceWithSnapshot(
      ...args: Parameters<SqliteAdapter['replaceWithSnapshot']>
    ): Promise<void> {
      this.#waiting += 1;
      this.#check();
      await this.#gate;
      await super.replaceWithSnapshot(...args);
      this.inside -= 1;
    }

    #waiting = 0;
    #check(): void {
      for (const arrival of this.#arrivals) if (this.#waiting >= arrival.count) arrival.resolve();
    }
  }

  async function gated(): Promise<GatedStorage> {
    const dir = mkdtempSync(path.join(tmpdir(), 'mend-docstore-'));
    dirs.push(dir);
    const storage = new GatedStorage(path.join(dir, 'mend.sqlite'));
    adapters.push(storage);
    await storage.migrate();
    return storage;
  }

  it('draws each space its own thresholds between (1 - jitter) and 1 times the policy', async () => {
    const storage = await sqlite();
    const store = new DocStore(
      storage,
      { compactAfterUpdates: 20, compactAfterBytes: 1 << 30, compactJitter: 0.5 },
      { random: drawing([0, 0.5, 0.999]) },
    );
    const spaces = [];
    for (let i = 0; i < 3; i++) {
      const spaceId = await createBareSpace(storage);
      await store.load(spaceId);
      spaces.push(spaceId);
    }
    const { updates } = edits(20);
    const compactedAt: (number | null)[] = [null, null, null];
    for (const [n, update] of updates.entries()) {
      for (const [i, spaceId] of spaces.entries()) {
        await store.append(spaceId, update);
        await store.idle();
        if (compactedAt[i] === null && (await storage.loadDoc(spaceId)).snapshot) {
          compactedAt[i] = n + 1;
        }
      }
    }
    expect(compactedAt).toEqual([20, 15, 10]);
  });

  it('runs no more compactions at once than its concurrency, and the queued ones after', async () => {
    const storage = await gated();
    const store = new DocStore(storage, {
      compactAfterUpdates: 1e9,
      compactAfterBytes: 1e12,
      compactConcurrency: 2,
    });
    const { text, updates } = edits(30);
    const spaces = [];
    for (let i = 0; i < 6; i++) {
      const spaceId = await createBareSpace(storage);
      for (const update of updates) await store.append(spaceId, update);
      spaces.push(spaceId);
    }
    const done = Promise.all(spaces.map((spaceId) => store.compact(spaceId)));
    await storage.arrived(2);
    // Give any compaction that would wrongly start now the turns it needs to reach storage.
    for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(storage.started).toBe(2);

    storage.open();
    await done;
    expect(storage.started).toBe(6);
    expect(storage.mostInside).toBe(2);
    for (const spaceId of spaces) {
      const stored = await storage.loadDoc(spaceId);
      expect(stored.updates).toHaveLength(0);
      expect(textOf(stored.snapshot!)).toBe(text);
    }
  });

  it('returns from the append that crosses a threshold before its compaction reads the log', async () => {
    const storage = await gated();
    storage.open();
    const store = new DocStore(storage, { compactAfterUpdates: 5, compactAfterBytes: 1e12 });
    const spaceId = await createBareSpace(storage);
    const { updates } = edits(5);
    for (const update of updates) await store.append(spaceId, update);
    // The fifth append resolved and its caller (the room, relaying) ran first.
    expect(storage.started).toBe(0);
    await store.idle();
    expect(storage.started).toBe(1);
  });

  it('loses nothing while spread compactions race with edits to many spaces', async () => {
    const storage = await sqlite();
    const store = new DocStore(
      storage,
      {
        compactAfterUpdates: 10,
        compactAfterBytes: 1e12,
        compactJitter: 0.5,
        compactConcurrency: 2,
      },
      { random: drawing([0.1, 0.9, 0.4, 0.7, 0.2]) },
    );
    const spaces = [];
    for (let i = 0; i < 8; i++) spaces.push(await createBareSpace(storage));
    const { text, updates } = edits(60);
    const appends: Promise<number>[] = [];
    for (const update of updates) {
      for (const spaceId of spaces) appends.push(store.append(spaceId, update));
    }
    await Promise.all(appends);
    await store.idle();
    for (const spaceId of spaces) {
      const stored = await storage.loadDoc(spaceId);
      expect(stored.snapshot).not.toBeNull();
      expect(textOf(await store.load(spaceId))).toBe(text);
    }
  });
});
