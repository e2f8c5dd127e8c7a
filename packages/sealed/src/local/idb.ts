import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';

/** Promise shapes over IndexedDB's events. They move values and know nothing of sealed spaces. */

export function settled<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Runs `body` in one transaction and resolves with what it returned once the transaction has
 * committed. If `body` throws, a request fails or the commit fails, nothing it wrote is kept and
 * the promise rejects with the reason. `body` may await only this transaction's requests:
 * awaiting anything else lets the transaction commit under it.
 */
export async function inTransaction<T>(
  db: IDBDatabase,
  stores: readonly string[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction) => Promise<T>,
): Promise<T> {
  const tx = db.transaction([...stores], mode);
  const done = new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () =>
      reject(tx.error ?? new DOMException('The transaction was aborted.', 'AbortError'));
  });
  // The outcome is read below; this only keeps an early abort from counting as unhandled.
  done.catch(() => {});
  let value: T;
  try {
    value = await body(tx);
  } catch (error) {
    try {
      tx.abort();
    } catch {
      // A failed request has aborted it already.
    }
    await done.catch(() => {});
    // tx.error names why IndexedDB gave up (quota, constraint); the body's error is the rest.
    throw tx.error ?? error;
  }
  await done;
  return value;
}

/**
 * Opens `name` at `version`, calling `upgrade` (inside the upgrade transaction) when the stored
 * database is older. Rejects with `blocked` while another connection keeps an older version
 * open; a connection that arrives after that is closed at once, so nothing is left half-open.
 */
export function openDatabase(
  factory: IDBFactory,
  name: string,
  version: number,
  upgrade: (db: IDBDatabase, tx: IDBTransaction, oldVersion: number) => void,
): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    let gaveUp = false;
    const request = factory.open(name, version);
    request.onupgradeneeded = (event) => {
      const tx = request.transaction;
      if (tx === null) throw new Error('an upgrade runs inside a transaction');
      upgrade(request.result, tx, event.oldVersion);
    };
    request.onblocked = () => {
      gaveUp = true;
      reject(new LocalStoreError(LocalStoreErrorReason.blocked));
    };
    request.onsuccess = () => {
      if (gaveUp) request.result.close();
      else resolve(request.result);
    };
    request.onerror = () => reject(request.error);
  });
}

/** Deletes `name`; rejects with `blocked` while a connection that will not close holds it open. */
export function deleteDatabase(factory: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = factory.deleteDatabase(name);
    // The deletion stays queued and happens once the other connections close.
    request.onblocked = () => reject(new LocalStoreError(LocalStoreErrorReason.blocked));
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/**
 * Whether a database called `name` exists, without creating it: by `databases()` where the
 * browser has it, else by opening it and aborting the upgrade a missing database would need.
 */
export async function databaseExists(factory: IDBFactory, name: string): Promise<boolean> {
  if (typeof factory.databases === 'function') {
    const all = await factory.databases();
    return all.some((info) => info.name === name);
  }
  return new Promise((resolve, reject) => {
    let missing = false;
    const request = factory.open(name);
    request.onupgradeneeded = () => {
      missing = true;
      request.transaction?.abort();
    };
    request.onsuccess = () => {
      request.result.close();
      resolve(true);
    };
    request.onerror = (event) => {
      if (!missing) {
        reject(request.error);
        return;
      }
      event.preventDefault();
      resolve(false);
    };
  });
}
