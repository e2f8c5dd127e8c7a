import { IDBFactory as FakeIDBFactory, IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settled } from './idb.js';
import { LocalSpaceStore } from './LocalSpaceStore.js';
import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';
import { databaseName, SCHEMA_STEPS, StoreName, upgradeSchema } from './schema.js';
import { bytes, keysIn, SPACE, updateSetting } from './testing/fixtures.js';

function entry(stream: number, counter: number) {
  return { stream, counter, envelope: bytes(stream, counter, 0xee) };
}

async function openStore(factory = new FakeIDBFactory()) {
  const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
  return { factory, store };
}

async function reload(factory: IDBFactory, store: LocalSpaceStore) {
  store.close();
  return (await LocalSpaceStore.open(SPACE, { indexedDB: factory })).load();
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LocalSpaceStore, changes held while not connected', () => {
  it('keeps a held change in the document and as still to be sealed, per stream, in order', async () => {
    const { factory, store } = await openStore();
    const [a, b, c] = [updateSetting('a'), updateSetting('b'), updateSetting('c')];
    await store.saveHeldChange(7, a);
    await store.saveHeldChange(900, b);
    await store.saveHeldChange(7, c);
    const loaded = await reload(factory, store);
    expect(keysIn(loaded.docState)).toEqual(['a', 'b', 'c']);
    expect(loaded.outbox).toEqual([]);
    expect([...loaded.held]).toEqual([
      [7, [a, c]],
      [900, [b]],
    ]);
  });

  it('moves the first held changes of a stream into the outbox as their envelopes, in one write', async () => {
    const { factory, store } = await openStore();
    await store.saveLocalChange(updateSetting('online'), entry(7, 1));
    const held = [updateSetting('h1'), updateSetting('h2'), updateSetting('h3')];
    for (const update of held) await store.saveHeldChange(7, update);
    await store.saveHeldChange(8, updateSetting('other'));
    expect(await store.sealHeld(7, 2, [entry(7, 2)])).toBe(true);
    const loaded = await reload(factory, store);
    // The third was held after the two were sealed: it waits for the next envelope.
    expect(loaded.held.get(7)).toEqual([held[2]]);
    expect(loaded.held.get(8)).toHaveLength(1);
    expect(loaded.outbox).toEqual([entry(7, 1), entry(7, 2)]);
    expect(keysIn(loaded.docState)).toEqual(['h1', 'h2', 'h3', 'online', 'other']);
  });

  it('forgets held changes the log holds already, with no envelope', async () => {
    const { factory, store } = await openStore();
    await store.saveHeldChange(7, updateSetting('a'));
    expect(await store.sealHeld(7, 1, [])).toBe(true);
    const loaded = await reload(factory, store);
    expect(loaded.held.size).toBe(0);
    expect(loaded.outbox).toEqual([]);
    expect(keysIn(loaded.docState)).toEqual(['a']);
  });

  it('stores nothing when the changes are no longer held: another page sealed them', async () => {
    const { factory, store } = await openStore();
    await store.saveHeldChange(7, updateSetting('a'));
    const other = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    expect(await other.sealHeld(7, 1, [entry(7, 1)])).toBe(true);
    other.close();
    expect(await store.sealHeld(7, 1, [entry(7, 1)])).toBe(false);
    const loaded = await reload(factory, store);
    expect(loaded.outbox).toEqual([entry(7, 1)]);
    expect(loaded.held.size).toBe(0);
  });

  it('keeps the changes held when an envelope cannot be stored, and stores none of them', async () => {
    const { factory, store } = await openStore();
    await store.saveLocalChange(updateSetting('online'), entry(7, 1));
    const held = updateSetting('h');
    await store.saveHeldChange(7, held);
    // A second envelope at a stored counter is a fork: the database refuses it.
    const error = await store.sealHeld(7, 1, [entry(7, 2), entry(7, 1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalStoreError);
    const loaded = await reload(factory, store);
    expect(loaded.held.get(7)).toEqual([held]);
    expect(loaded.outbox).toEqual([entry(7, 1)]);
  });

  it('stores neither the change nor its being held when the disk is full', async () => {
    const { factory, store } = await openStore();
    const original = IDBObjectStore.prototype.add;
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      if (this.name === StoreName.held) {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return original.apply(this, args);
    });
    const error = await store.saveHeldChange(7, updateSetting('a')).catch((e: unknown) => e);
    expect((error as LocalStoreError).reason).toBe(LocalStoreErrorReason.quota);
    vi.restoreAllMocks();
    const loaded = await reload(factory, store);
    expect(loaded.docState).toBeNull();
    expect(loaded.held.size).toBe(0);
  });

  it('brings a database written before held changes up to date, keeping what it holds', async () => {
    const factory = new FakeIDBFactory();
    const name = databaseName(SPACE);
    const request = factory.open(name, 1);
    request.onupgradeneeded = () =>
      upgradeSchema(request.result, request.transaction!, 0, SCHEMA_STEPS.slice(0, 1));
    const db = await settled(request);
    const tx = db.transaction([StoreName.updates, StoreName.outbox], 'readwrite');
    await settled(tx.objectStore(StoreName.updates).add(updateSetting('old')));
    await settled(tx.objectStore(StoreName.outbox).add({ ...entry(3, 1), order: 1 }));
    db.close();

    const { store } = await openStore(factory);
    await store.saveHeldChange(3, updateSetting('new'));
    const loaded = await store.load();
    expect(keysIn(loaded.docState)).toEqual(['new', 'old']);
    expect(loaded.outbox).toEqual([entry(3, 1)]);
    expect(loaded.held.get(3)).toHaveLength(1);
    store.close();
  });
});
