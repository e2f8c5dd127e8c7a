import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { settled } from '../idb.js';

export const SPACE = 'sealedspace00001' as SpaceId;

let nextClient = 1;

/** A Yjs update that sets `key` in the map `m`, written by a client no other update uses. */
export function updateSetting(key: string): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = nextClient++;
  doc.getMap('m').set(key, key);
  return Y.encodeStateAsUpdate(doc);
}

/** The keys of the map `m` in a document built from `state`. */
export function keysIn(state: Uint8Array | null): string[] {
  const doc = new Y.Doc();
  if (state !== null) Y.applyUpdate(doc, state);
  return [...doc.getMap('m').keys()].sort();
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Every value and key of every store of database `name`, read past the store's API. */
export async function rawContents(factory: IDBFactory, name: string): Promise<unknown[]> {
  const db = await settled(factory.open(name));
  try {
    const names = Array.from(db.objectStoreNames);
    const tx = db.transaction(names, 'readonly');
    const all = await Promise.all(
      names.flatMap((store) => [
        settled(tx.objectStore(store).getAll()),
        settled(tx.objectStore(store).getAllKeys()),
      ]),
    );
    return all.flat();
  } finally {
    db.close();
  }
}

/** Writes `value` under `key` in store `store` of database `name`, past the store's API. */
export async function rawPut(
  factory: IDBFactory,
  name: string,
  store: string,
  value: unknown,
  key?: IDBValidKey,
): Promise<void> {
  const db = await settled(factory.open(name));
  try {
    const tx = db.transaction([store], 'readwrite');
    await settled(tx.objectStore(store).put(value, key));
  } finally {
    db.close();
  }
}

/** Deletes `key` from store `store` of database `name`, past the store's API. */
export async function rawDelete(
  factory: IDBFactory,
  name: string,
  store: string,
  key: IDBValidKey,
): Promise<void> {
  const db = await settled(factory.open(name));
  try {
    const tx = db.transaction([store], 'readwrite');
    await settled(tx.objectStore(store).delete(key));
  } finally {
    db.close();
  }
}
