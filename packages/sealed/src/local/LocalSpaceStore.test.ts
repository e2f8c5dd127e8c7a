import { IDBFactory as FakeIDBFactory, IDBObjectStore, forceCloseDatabase } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LocalSpaceStore } from './LocalSpaceStore.js';
import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';
import { databaseName, MetaKey, StoreName } from './schema.js';
import { bytes, keysIn, rawPut, SPACE, updateSetting } from './testing/fixtures.js';

const NAME = databaseName(SPACE);

function entry(stream: number, counter: number) {
  return { stream, counter, envelope: bytes(stream, counter, 0xee) };
}

async function openStore(factory = new FakeIDBFactory(), compactAbove?: number) {
  const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory, compactAbove });
  return { factory, store };
}

async function rejection(promise: Promise<unknown>): Promise<LocalStoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LocalStoreError);
  return error as LocalStoreError;
}

/** Makes `method` of the object store `storeName` fail as on a full disk. */
function failWrites(method: 'add' | 'put', storeName: string): void {
  const original = IDBObjectStore.prototype[method];
  vi.spyOn(IDBObjectStore.prototype, method).mockImplementation(function (
    this: IDBObjectStore,
    ...args: Parameters<IDBObjectStore['add']>
  ) {
    if (this.name === storeName) {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    return original.apply(this, args);
  });
}

/** A factory that hands every connection it opens to `seen` as well. */
function watching(factory: IDBFactory, seen: IDBDatabase[]): IDBFactory {
  return {
    open(name: string, version?: number) {
      const request = factory.open(name, version);
      request.addEventListener('success', () => seen.push(request.result));
      return request;
    },
    deleteDatabase: (name: string) => factory.deleteDatabase(name),
    databases: () => factory.databases(),
    cmp: (a: unknown, b: unknown) => factory.cmp(a, b),
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LocalSpaceStore', () => {
  it('loads nothing from a space this device has never stored', async () => {
    const { store } = await openStore();
    expect(await store.load()).toEqual({
      docState: null,
      replica: null,
      outbox: [],
      secrets: null,
      signingKey: null,
      carry: null,
      held: new Map(),
    });
  });

  it('names the database after the space', async () => {
    const { factory } = await openStore();
    const names = (await factory.databases()).map((info) => info.name);
    expect(names).toEqual(['mend-sealed-sealedspace00001']);
  });

  it('keeps a local change and its envelope across a reload', async () => {
    const { factory, store } = await openStore();
    await store.saveLocalChange(updateSetting('a'), entry(1, 1));
    await store.saveLocalChange(updateSetting('b'), entry(1, 2));
    store.close();

    const reloaded = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    const loaded = await reloaded.load();
    expect(keysIn(loaded.docState)).toEqual(['a', 'b']);
    expect(loaded.outbox).toEqual([entry(1, 1), entry(1, 2)]);
  });

  it('keeps an envelope that carries no change (a member statement) in the outbox, in order', async () => {
    const { factory, store } = await openStore();
    await store.saveEnvelope(entry(5, 1));
    await store.saveLocalChange(updateSetting('a'), entry(5, 2));
    await store.saveEnvelope(entry(5, 3));
    store.close();
    const loaded = await (await LocalSpaceStore.open(SPACE, { indexedDB: factory })).load();
    expect(keysIn(loaded.docState)).toEqual(['a']);
    expect(loaded.outbox).toEqual([entry(5, 1), entry(5, 2), entry(5, 3)]);
  });

  it('lists the outbox in the order it was written, across streams', async () => {
    const { store } = await openStore();
    // A later page load writes with a smaller client id; it must still come after.
    await store.saveLocalChange(updateSetting('a'), entry(900, 1));
    await store.saveLocalChange(updateSetting('b'), entry(900, 2));
    await store.saveLocalChange(updateSetting('c'), entry(7, 1));
    const { outbox } = await store.load();
    expect(outbox.map((e) => [e.stream, e.counter])).toEqual([
      [900, 1],
      [900, 2],
      [7, 1],
    ]);
  });

  it('stores a view of a larger buffer as its own bytes only', async () => {
    const { store } = await openStore();
    const buffer = new Uint8Array(1000).fill(9);
    const envelope = buffer.subarray(10, 14);
    await store.saveLocalChange(updateSetting('a'), { stream: 1, counter: 1, envelope });
    const { outbox } = await store.load();
    expect(outbox[0]?.envelope.buffer.byteLength).toBe(4);
  });

  it('forgets acknowledged envelopes of that stream up to the counter, and no others', async () => {
    const { store } = await openStore();
    for (const [stream, counter] of [
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 1],
    ] as const) {
      await store.saveLocalChange(updateSetting(`${stream}.${counter}`), entry(stream, counter));
    }
    await store.acknowledge(1, 2);
    const loaded = await store.load();
    expect(loaded.outbox).toEqual([entry(1, 3), entry(2, 1)]);
    // Acknowledging forgets the envelope, never the change.
    expect(keysIn(loaded.docState)).toEqual(['1.1', '1.2', '1.3', '2.1']);
  });

  it('keeps received updates and the replica state that took them in', async () => {
    const { store } = await openStore();
    const written = await store.saveReceived([updateSetting('x'), updateSetting('y')], {
      since: 2,
      state: bytes(2),
    });
    expect(written).toBe(true);
    const loaded = await store.load();
    expect(keysIn(loaded.docState)).toEqual(['x', 'y']);
    expect(loaded.replica).toEqual({ since: 2, state: bytes(2) });
  });

  it('never writes a replica state older than or as old as the stored one, but keeps its updates', async () => {
    const { store } = await openStore();
    await store.saveReceived([updateSetting('x')], { since: 10, state: bytes(10) });
    expect(await store.saveReceived([updateSetting('y')], { since: 9, state: bytes(9) })).toBe(
      false,
    );
    expect(await store.saveReceived([], { since: 10, state: bytes(99) })).toBe(false);
    const loaded = await store.load();
    expect(loaded.replica).toEqual({ since: 10, state: bytes(10) });
    expect(keysIn(loaded.docState)).toEqual(['x', 'y']);
  });

  it('merges the updates into one once there are more than the limit, losing none', async () => {
    const { factory, store } = await openStore(undefined, 3);
    for (const key of ['a', 'b', 'c'])
      await store.saveLocalChange(updateSetting(key), entry(1, key.charCodeAt(0)));
    expect(await store.compact()).toBe(false);
    await store.saveReceived([updateSetting('d')], { since: 1, state: bytes(1) });
    expect(await store.compact()).toBe(true);

    const db = await new Promise<IDBDatabase>((resolve) => {
      const request = factory.open(NAME);
      request.onsuccess = () => resolve(request.result);
    });
    const count = await new Promise<number>((resolve) => {
      const request = db.transaction([StoreName.updates]).objectStore(StoreName.updates).count();
      request.onsuccess = () => resolve(request.result);
    });
    db.close();
    expect(count).toBe(1);
    expect(keysIn((await store.load()).docState)).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('LocalSpaceStore atomicity', () => {
  it('stores neither the change nor the envelope when the envelope cannot be stored', async () => {
    const { store } = await openStore();
    await store.saveLocalChange(updateSetting('a'), entry(1, 1));
    // A second envelope at a stored counter is refused by the database itself.
    const error = await rejection(store.saveLocalChange(updateSetting('b'), entry(1, 1)));
    expect(error.reason).toBe(LocalStoreErrorReason.corrupt);
    const loaded = await store.load();
    expect(keysIn(loaded.docState)).toEqual(['a']);
    expect(loaded.outbox).toEqual([entry(1, 1)]);
  });

  it('stores neither the change nor the envelope when the disk is full at the envelope', async () => {
    const { store } = await openStore();
    failWrites('add', StoreName.outbox);
    const error = await rejection(store.saveLocalChange(updateSetting('a'), entry(1, 1)));
    expect(error.reason).toBe(LocalStoreErrorReason.quota);
    expect(error.message).toMatch(/no room left/);
    vi.restoreAllMocks();
    expect(await store.load()).toMatchObject({ docState: null, outbox: [] });
  });

  it('stores neither the updates nor the replica state when the state cannot be stored', async () => {
    const { store } = await openStore();
    failWrites('put', StoreName.meta);
    const error = await rejection(
      store.saveReceived([updateSetting('x')], { since: 3, state: bytes(3) }),
    );
    expect(error.reason).toBe(LocalStoreErrorReason.quota);
    vi.restoreAllMocks();
    expect(await store.load()).toMatchObject({ docState: null, replica: null });
  });
});

describe('LocalSpaceStore errors', () => {
  it('rejects with unavailable where there is no IndexedDB', async () => {
    const error = await rejection(LocalSpaceStore.open(SPACE));
    expect(error.reason).toBe(LocalStoreErrorReason.unavailable);
  });

  it('rejects with unavailable where the browser refuses storage', async () => {
    const refusing = {
      open() {
        throw new DOMException('Storage is disabled.', 'SecurityError');
      },
    } as unknown as IDBFactory;
    const error = await rejection(LocalSpaceStore.open(SPACE, { indexedDB: refusing }));
    expect(error.reason).toBe(LocalStoreErrorReason.unavailable);
  });

  it('rejects with blocked when a newer version of Mend upgraded the database', async () => {
    const factory = new FakeIDBFactory();
    await new Promise<void>((resolve) => {
      const request = factory.open(NAME, 99);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
    });
    const error = await rejection(LocalSpaceStore.open(SPACE, { indexedDB: factory }));
    expect(error.reason).toBe(LocalStoreErrorReason.blocked);
  });

  it('rejects with corrupt when a stored record is not what this code wrote', async () => {
    const { factory, store } = await openStore();
    await rawPut(factory, NAME, StoreName.meta, { since: 'ten' }, MetaKey.replica);
    const error = await rejection(store.load());
    expect(error.reason).toBe(LocalStoreErrorReason.corrupt);
  });

  it('rejects with corrupt when a database of that name lacks the stores', async () => {
    const factory = new FakeIDBFactory();
    await new Promise<void>((resolve) => {
      const request = factory.open(NAME, 1);
      request.onsuccess = () => {
        request.result.close();
        resolve();
      };
    });
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    const error = await rejection(store.load());
    expect(error.reason).toBe(LocalStoreErrorReason.corrupt);
  });

  it('refuses with unavailable after the browser closed the database', async () => {
    const connections: IDBDatabase[] = [];
    const { store } = await openStore(watching(new FakeIDBFactory(), connections));
    expect(connections).toHaveLength(1);
    forceCloseDatabase(connections[0] as never);
    const error = await rejection(store.load());
    expect(error.reason).toBe(LocalStoreErrorReason.unavailable);
  });
});

describe('LocalSpaceStore.destroy and exists', () => {
  it('deletes the database, so the space no longer exists on this device', async () => {
    const { factory, store } = await openStore();
    await store.saveLocalChange(updateSetting('a'), entry(1, 1));
    expect(await LocalSpaceStore.exists(SPACE, { indexedDB: factory })).toBe(true);
    await store.destroy();
    expect(await LocalSpaceStore.exists(SPACE, { indexedDB: factory })).toBe(false);
    expect(await factory.databases()).toEqual([]);
  });

  it('says a space exists without databases() too, and creates nothing to find out', async () => {
    const factory = new FakeIDBFactory();
    const withoutList = {
      open: factory.open.bind(factory),
      deleteDatabase: factory.deleteDatabase.bind(factory),
    } as unknown as IDBFactory;
    expect(await LocalSpaceStore.exists(SPACE, { indexedDB: withoutList })).toBe(false);
    expect(await factory.databases()).toEqual([]);
    const store = await LocalSpaceStore.open(SPACE, { indexedDB: withoutList });
    expect(await LocalSpaceStore.exists(SPACE, { indexedDB: withoutList })).toBe(true);
    store.close();
  });

  it("closes another tab's store, which then refuses with unavailable", async () => {
    const { factory, store } = await openStore();
    const otherTab = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await store.destroy();
    const error = await rejection(otherTab.load());
    expect(error.reason).toBe(LocalStoreErrorReason.unavailable);
  });

  it('rejects with blocked while a connection that will not close holds the database', async () => {
    const { factory, store } = await openStore();
    const stubborn = await new Promise<IDBDatabase>((resolve) => {
      const request = factory.open(NAME);
      request.onsuccess = () => resolve(request.result);
    });
    const error = await rejection(store.destroy());
    expect(error.reason).toBe(LocalStoreErrorReason.blocked);
    stubborn.close();
  });
});
