import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { LocalSpaceStore } from './LocalSpaceStore.js';
import { LocalStoreErrorReason } from './LocalStoreError.js';
import { databaseName, MetaKey, StoreName } from './schema.js';
import { bytes, keysIn, rawContents, rawPut, SPACE, updateSetting } from './testing/fixtures.js';

const NAME = databaseName(SPACE);

async function openStore(factory = new FakeIDBFactory()) {
  return { factory, store: await LocalSpaceStore.open(SPACE, { indexedDB: factory }) };
}

const entry = (stream: number, counter: number) => ({
  stream,
  counter,
  envelope: bytes(stream, counter),
});

describe('LocalSpaceStore while a plaintext space is sealed', () => {
  it('keeps the sealing record sealed at rest, apart from the secrets, across reloads', async () => {
    const { factory, store } = await openStore();
    const record = crypto.getRandomValues(new Uint8Array(48));
    expect(await store.updateSealing((current) => (current === null ? record : null))).toEqual(
      record,
    );
    // Made once: a second tab asking finds the first one's.
    expect(await store.updateSealing((current) => (current === null ? bytes(1) : null))).toEqual(
      record,
    );
    store.close();
    const reloaded = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    expect(await reloaded.loadSealing()).toEqual(record);
    expect((await reloaded.load()).secrets).toBeNull();
    const raw = JSON.stringify(
      (await rawContents(factory, NAME)).map((v) => (v instanceof Uint8Array ? Array.from(v) : v)),
    );
    expect(raw).not.toContain(Array.from(record.subarray(0, 8)).join(','));
    await reloaded.dropSealing();
    expect(await reloaded.loadSealing()).toBeNull();
  });

  it('opens a sealing record only as one: moved into the secrets’ place, it is corrupt', async () => {
    const { factory, store } = await openStore();
    await store.updateSealing(() => bytes(1, 2, 3));
    store.close();
    const sealed = await readMeta(factory, MetaKey.sealing);
    expect(sealed).toBeInstanceOf(Uint8Array);
    await rawPut(factory, NAME, StoreName.meta, sealed, MetaKey.secrets);
    const again = await LocalSpaceStore.open(SPACE, { indexedDB: factory });
    await expect(again.load()).rejects.toMatchObject({ reason: LocalStoreErrorReason.corrupt });
  });

  it('adopts a plaintext copy in one go, once, and forgets the sealing record with it', async () => {
    const { store } = await openStore();
    await store.updateSealing(() => bytes(9));
    const docState = updateSetting('plain');
    const adopted = {
      docState,
      replica: { since: 2, state: bytes(2) },
      carry: docState,
      secrets: bytes(7, 7),
    };
    expect(await store.adoptPlaintextCopy(adopted)).toBe(true);
    const loaded = await store.load();
    expect(keysIn(loaded.docState)).toEqual(['plain']);
    expect(loaded).toMatchObject({
      replica: { since: 2, state: bytes(2) },
      carry: docState,
      secrets: bytes(7, 7),
      outbox: [],
    });
    expect(await store.loadSealing()).toBeNull();
    // A second adoption (a retry after a lost page) changes nothing: the first secrets stay.
    expect(
      await store.adoptPlaintextCopy({ ...adopted, secrets: bytes(8), replica: null, carry: null }),
    ).toBe(false);
    expect(await store.load()).toMatchObject({ secrets: bytes(7, 7), carry: docState });
  });

  it('adds a change made while the copy was adopted to the document and to what is carried', async () => {
    const { store } = await openStore();
    const docState = updateSetting('plain');
    await store.adoptPlaintextCopy({ docState, replica: null, carry: docState, secrets: bytes(1) });
    const late = updateSetting('written meanwhile');
    await store.carryMore(late);
    const loaded = await store.load();
    expect(keysIn(loaded.docState).sort()).toEqual(['plain', 'written meanwhile']);
    expect(keysIn(loaded.carry).sort()).toEqual(['plain', 'written meanwhile']);
  });

  it('stores the carried envelope and forgets the copy in one transaction, or forgets it alone', async () => {
    const { store } = await openStore();
    const docState = updateSetting('plain');
    await store.adoptPlaintextCopy({ docState, replica: null, carry: docState, secrets: bytes(1) });
    await store.saveEnvelope(entry(5, 1));
    await store.saveCarried(entry(5, 2));
    expect(await store.load()).toMatchObject({
      carry: null,
      outbox: [entry(5, 1), entry(5, 2)],
    });

    const other = await openStore();
    await other.store.adoptPlaintextCopy({
      docState,
      replica: null,
      carry: docState,
      secrets: bytes(1),
    });
    await other.store.dropCarry();
    expect(await other.store.load()).toMatchObject({ carry: null, outbox: [] });
  });
});

async function readMeta(factory: IDBFactory, key: string): Promise<unknown> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const request = factory.open(NAME);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const request = db.transaction(StoreName.meta).objectStore(StoreName.meta).get(key);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}
