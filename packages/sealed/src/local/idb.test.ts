import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import { openDatabase, settled } from './idb.js';
import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';
import {
  SCHEMA_STEPS,
  SCHEMA_VERSION,
  StoreName,
  upgradeSchema,
  type SchemaStep,
} from './schema.js';

const NAME = 'mend-sealed-upgrade-test';

describe('schema upgrades', () => {
  it('brings a database of an older version up to date and keeps what it held', async () => {
    const factory = new FakeIDBFactory();
    const v1 = await openDatabase(factory, NAME, SCHEMA_VERSION, upgradeSchema);
    const tx = v1.transaction([StoreName.updates], 'readwrite');
    await settled(tx.objectStore(StoreName.updates).add(Uint8Array.of(1, 2, 3)));
    v1.close();

    // A later version appends a step; the first step must not run again (it would throw:
    // its stores exist already).
    const addNotes: SchemaStep = (db) => {
      db.createObjectStore('notes');
    };
    const steps = [...SCHEMA_STEPS, addNotes];
    const v2 = await openDatabase(factory, NAME, steps.length, (db, upgradeTx, from) =>
      upgradeSchema(db, upgradeTx, from, steps),
    );
    expect(v2.version).toBe(SCHEMA_VERSION + 1);
    expect(Array.from(v2.objectStoreNames).sort()).toEqual(
      ['held', 'meta', 'notes', 'outbox', 'updates'].sort(),
    );
    const read = v2.transaction([StoreName.updates]).objectStore(StoreName.updates).getAll();
    expect(await settled(read)).toEqual([Uint8Array.of(1, 2, 3)]);
    v2.close();
  });

  it('rejects an upgrade with blocked while another tab keeps the old version open', async () => {
    const factory = new FakeIDBFactory();
    const otherTab = await openDatabase(factory, NAME, SCHEMA_VERSION, upgradeSchema);
    // This tab ignores the request to close, as a page that never listens for it would.
    otherTab.onversionchange = null;
    const steps = [...SCHEMA_STEPS, (db: IDBDatabase) => void db.createObjectStore('notes')];
    const upgrade = openDatabase(factory, NAME, steps.length, (db, tx, from) =>
      upgradeSchema(db, tx, from, steps),
    );
    const error = await upgrade.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalStoreError);
    expect((error as LocalStoreError).reason).toBe(LocalStoreErrorReason.blocked);
    otherTab.close();
  });
});
