import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import { equalBytes } from '../bytes.js';
import { createAtRestKey, openAtRest, sealAtRest } from '../cryptoAtRest.js';
import { databaseExists, deleteDatabase, inTransaction, openDatabase, settled } from './idb.js';
import { LocalStoreError, LocalStoreErrorReason, toLocalStoreError } from './LocalStoreError.js';
import {
  ownBytes,
  parseStoredKey,
  parseBytes,
  parseHeldChange,
  parseOptionalBytes,
  parseOutboxEntry,
  parseReplica,
  parseSealedSecrets,
  type HeldChange,
  type OutboxEntry,
  type ReplicaRecord,
  type StoredOutboxEntry,
} from './records.js';
import {
  databaseName,
  HELD_BY_STREAM,
  MetaKey,
  OUTBOX_BY_ORDER,
  SCHEMA_VERSION,
  StoreName,
  upgradeSchema,
} from './schema.js';

export interface LocalSpaceStoreOptions {
  /** Defaults to the page's `indexedDB`; tests pass fake-indexeddb's factory. */
  indexedDB?: IDBFactory;
  /** `compact()` merges the document's updates once there are more than this many. */
  compactAbove?: number;
}

/** Everything a device keeps of a sealed space, as `load()` reads it back. */
export interface LoadedSpace {
  /** Every stored Yjs update merged into one, or null before the first one. */
  docState: Uint8Array | null;
  replica: ReplicaRecord | null;
  /** Unacknowledged envelopes in the order they were written (counters ascend per stream). */
  outbox: OutboxEntry[];
  /** The bytes last given to `saveSecrets`, decrypted, or null if none were saved. */
  secrets: Uint8Array | null;
  /** The device's signing key as the platform holds it (`keepSigningKey`), or null. */
  signingKey: CryptoKey | null;
  /**
   * A plaintext copy still to be carried over into the sealed log (`adoptPlaintextCopy`), or
   * null; `saveCarried` and `dropCarry` end it.
   */
  carry: Uint8Array | null;
  /**
   * Changes made here while not connected and not sealed yet (`saveHeldChange`), per stream, in
   * the order they were made; `sealHeld` ends them.
   */
  held: Map<number, Uint8Array[]>;
}

/** What a device's plaintext copy of a space becomes on the sealed side (`adoptPlaintextCopy`). */
export interface AdoptedCopy {
  /** The plaintext document's state: the sealed copy's first update. */
  readonly docState: Uint8Array;
  /** The replica's state, when the device already holds what the log starts with. */
  readonly replica: ReplicaRecord | null;
  /** What to carry over (usually `docState`), or null. */
  readonly carry: Uint8Array | null;
  /** The membership's bytes, sealed at rest here. */
  readonly secrets: Uint8Array;
}

/** As y-indexeddb: a few hundred small updates load quickly; beyond that, merge them. */
const DEFAULT_COMPACT_ABOVE = 500;

const encoder = new TextEncoder();

/**
 * Where a sealed space lives on this device between reloads: one IndexedDB database per space
 * (`mend-sealed-<spaceId>`) holding the document's updates, the outbox of sealed envelopes, the
 * changes made offline and not sealed yet, the replica's verification state and the device's
 * secrets, sealed at rest.
 *
 * What must agree is written in one transaction: a local change with its envelope (or, offline,
 * with its being held), held changes with the envelopes that replace them, received updates with
 * the replica state that took them in. Several tabs may hold the same space open,
 * each with its own store and replica; IndexedDB runs their read-write transactions one after
 * another, and the stored replica state only ever moves forward.
 *
 * Every method rejects with a `LocalStoreError`; a write that fails has stored nothing.
 */
export class LocalSpaceStore {
  readonly spaceId: SpaceId;
  readonly #db: IDBDatabase;
  readonly #factory: IDBFactory;
  readonly #compactAbove: number;
  #closedBecause: LocalStoreErrorReason | null = null;
  #atRestKey: CryptoKey | null = null;

  private constructor(
    spaceId: SpaceId,
    db: IDBDatabase,
    factory: IDBFactory,
    compactAbove: number,
  ) {
    this.spaceId = spaceId;
    this.#db = db;
    this.#factory = factory;
    this.#compactAbove = compactAbove;
    // Another tab is deleting the database or upgrading it: let it, and refuse from now on.
    db.onversionchange = (event) => {
      db.close();
      this.#closedBecause =
        event.newVersion === null
          ? LocalStoreErrorReason.unavailable
          : LocalStoreErrorReason.blocked;
    };
    // The browser closed it (the person cleared site data, or the disk went away).
    db.onclose = () => {
      this.#closedBecause = LocalStoreErrorReason.unavailable;
    };
  }

  static async open(
    spaceId: SpaceId,
    options: LocalSpaceStoreOptions = {},
  ): Promise<LocalSpaceStore> {
    const factory = indexedDBOf(options);
    try {
      const db = await openDatabase(factory, databaseName(spaceId), SCHEMA_VERSION, upgradeSchema);
      return new LocalSpaceStore(
        spaceId,
        db,
        factory,
        options.compactAbove ?? DEFAULT_COMPACT_ABOVE,
      );
    } catch (error) {
      throw toLocalStoreError(error);
    }
  }

  /** Whether this device keeps a copy of the space, without creating one. */
  static async exists(
    spaceId: SpaceId,
    options: Pick<LocalSpaceStoreOptions, 'indexedDB'> = {},
  ): Promise<boolean> {
    const factory = indexedDBOf(options);
    try {
      return await databaseExists(factory, databaseName(spaceId));
    } catch (error) {
      throw toLocalStoreError(error);
    }
  }

  load(): Promise<LoadedSpace> {
    return this.#guard(async () => {
      const stored = await this.#transaction(
        [StoreName.updates, StoreName.outbox, StoreName.meta, StoreName.held],
        'readonly',
        async (tx) => {
          const meta = tx.objectStore(StoreName.meta);
          const [updates, outbox, replica, secrets, key, signingKey, carry, held] =
            await Promise.all([
              settled(tx.objectStore(StoreName.updates).getAll()),
              settled(tx.objectStore(StoreName.outbox).index(OUTBOX_BY_ORDER).getAll()),
              settled(meta.get(MetaKey.replica)),
              settled(meta.get(MetaKey.secrets)),
              settled(meta.get(MetaKey.atRestKey)),
              settled(meta.get(MetaKey.signingKey)),
              settled(meta.get(MetaKey.carry)),
              settled(tx.objectStore(StoreName.held).getAll()),
            ]);
          return { updates, outbox, replica, secrets, key, signingKey, carry, held };
        },
      );
      const updates = stored.updates.map(parseBytes);
      const held = new Map<number, Uint8Array[]>();
      for (const change of stored.held.map(parseHeldChange)) {
        const changes = held.get(change.stream) ?? [];
        changes.push(change.update);
        held.set(change.stream, changes);
      }
      return {
        docState: updates.length === 0 ? null : merge(updates),
        replica: parseReplica(stored.replica),
        outbox: stored.outbox.map(parseOutboxEntry),
        secrets: await this.#openSecrets(
          parseSealedSecrets(stored.secrets),
          parseStoredKey(stored.key),
        ),
        signingKey: parseStoredKey(stored.signingKey),
        carry: parseOptionalBytes(stored.carry),
        held,
      };
    });
  }

  /**
   * Stores a change made on this device together with the envelope that carries it. Both or
   * neither: a change without its envelope would never be sent, an envelope without its change
   * would be lost from this device's copy until the server echoes it.
   */
  saveLocalChange(update: Uint8Array, entry: OutboxEntry): Promise<void> {
    return this.#saveOutgoing(update, entry);
  }

  /**
   * Stores an envelope that carries no change to the document (a member statement): the outbox
   * alone, in the same order as the changes around it.
   */
  saveEnvelope(entry: OutboxEntry): Promise<void> {
    return this.#saveOutgoing(null, entry);
  }

  /**
   * Stores a change made on this device while it was not connected, both to the document and
   * to the changes still to be sealed, in one transaction: a reload finds the change and the
   * fact that it has not been sent, or neither.
   */
  saveHeldChange(stream: number, update: Uint8Array): Promise<void> {
    return this.#guard(() =>
      this.#transaction([StoreName.updates, StoreName.held], 'readwrite', async (tx) => {
        const bytes = ownBytes(update);
        await settled(tx.objectStore(StoreName.updates).add(bytes));
        const change: HeldChange = { stream, update: bytes };
        await settled(tx.objectStore(StoreName.held).add(change));
      }),
    );
  }

  /**
   * Replaces the first `count` changes held for `stream` with `entries`, the envelopes sealed
   * from them (none when the log held them already), in one transaction: a reload finds the
   * changes still held or their envelopes in the outbox, never both. Resolves false, storing
   * nothing, when fewer than `count` are held: another page sealed them.
   */
  sealHeld(stream: number, count: number, entries: readonly OutboxEntry[]): Promise<boolean> {
    return this.#guard(() =>
      this.#transaction([StoreName.held, StoreName.outbox], 'readwrite', async (tx) => {
        const held = tx.objectStore(StoreName.held);
        const keys = await settled(held.index(HELD_BY_STREAM).getAllKeys(stream));
        if (keys.length < count) return false;
        await Promise.all(keys.slice(0, count).map((key) => settled(held.delete(key))));
        const outbox = tx.objectStore(StoreName.outbox);
        for (const entry of entries) await addToOutbox(outbox, entry);
        return true;
      }),
    );
  }

  /**
   * Stores the carried envelope that holds what the plaintext copy added to the log, and forgets
   * that copy (`carry`), in one transaction: a reload finds the one or the other, never both.
   */
  saveCarried(entry: OutboxEntry): Promise<void> {
    return this.#saveOutgoing(null, entry, true);
  }

  /**
   * Adds `update` to an adopted plaintext copy, both to the document and to what is carried over,
   * in one transaction: a change made on the page while the copy was being adopted.
   */
  carryMore(update: Uint8Array): Promise<void> {
    return this.#guard(() =>
      this.#transaction([StoreName.updates, StoreName.meta], 'readwrite', async (tx) => {
        await settled(tx.objectStore(StoreName.updates).add(ownBytes(update)));
        const meta = tx.objectStore(StoreName.meta);
        const carry = parseOptionalBytes(await settled(meta.get(MetaKey.carry)));
        const next = carry === null ? update : merge([carry, update]);
        await settled(meta.put(ownBytes(next), MetaKey.carry));
      }),
    );
  }

  /** Forgets the plaintext copy to carry over: the log held all of it. */
  dropCarry(): Promise<void> {
    return this.#guard(() =>
      this.#transaction([StoreName.meta], 'readwrite', async (tx) => {
        await settled(tx.objectStore(StoreName.meta).delete(MetaKey.carry));
      }),
    );
  }

  #saveOutgoing(update: Uint8Array | null, entry: OutboxEntry, carried = false): Promise<void> {
    const stores: StoreName[] = [StoreName.outbox];
    if (update !== null) stores.push(StoreName.updates);
    if (carried) stores.push(StoreName.meta);
    return this.#guard(() =>
      this.#transaction(stores, 'readwrite', async (tx) => {
        if (carried) await settled(tx.objectStore(StoreName.meta).delete(MetaKey.carry));
        if (update !== null) {
          await settled(tx.objectStore(StoreName.updates).add(ownBytes(update)));
        }
        await addToOutbox(tx.objectStore(StoreName.outbox), entry);
      }),
    );
  }

  /**
   * Stores updates the replica applied together with its state after applying them. The state
   * is written only if its `since` is above the stored one: another tab's replica may have
   * stored a later state meanwhile, and a state that went back would make this device see
   * envelopes its chains already passed as replays. The updates are always kept (applying one
   * twice changes nothing). Resolves with whether the state was written.
   */
  saveReceived(updates: readonly Uint8Array[], replica: ReplicaRecord): Promise<boolean> {
    return this.#guard(() =>
      this.#transaction([StoreName.updates, StoreName.meta], 'readwrite', async (tx) => {
        const store = tx.objectStore(StoreName.updates);
        await Promise.all(updates.map((update) => settled(store.add(ownBytes(update)))));
        const meta = tx.objectStore(StoreName.meta);
        const stored = parseReplica(await settled(meta.get(MetaKey.replica)));
        if (stored !== null && replica.since <= stored.since) return false;
        const record: ReplicaRecord = { since: replica.since, state: ownBytes(replica.state) };
        await settled(meta.put(record, MetaKey.replica));
        return true;
      }),
    );
  }

  /** Forgets the stream's envelopes up to `counter`: the server stored them (its chain is whole). */
  acknowledge(stream: number, counter: number): Promise<void> {
    return this.#guard(() =>
      this.#transaction([StoreName.outbox], 'readwrite', async (tx) => {
        const outbox = tx.objectStore(StoreName.outbox);
        // The outbox holds only what the server has not acknowledged yet: a few entries.
        const keys = await settled(outbox.getAllKeys());
        const acknowledged = keys.filter((key) => isUpTo(key, stream, counter));
        await Promise.all(acknowledged.map((key) => settled(outbox.delete(key))));
      }),
    );
  }

  /**
   * Merges the document's updates into one once there are more than `compactAbove`. Reading
   * them, clearing the store and writing the merge happen in one read-write transaction:
   * IndexedDB makes another tab's write wait until it commits, so the store holds exactly what
   * was read when it is cleared, and a write that waited lands after the merge. Resolves with
   * whether it merged.
   */
  compact(): Promise<boolean> {
    return this.#guard(() =>
      this.#transaction([StoreName.updates], 'readwrite', async (tx) => {
        const store = tx.objectStore(StoreName.updates);
        if ((await settled(store.count())) <= this.#compactAbove) return false;
        const merged = merge((await settled(store.getAll())).map(parseBytes));
        await settled(store.clear());
        await settled(store.add(merged));
        return true;
      }),
    );
  }

  /**
   * Seals `secrets` at rest and stores them, replacing what was stored; with `signingKey`, in the
   * same transaction, the signing key the platform holds for them, or (null) none, so a stored
   * key never outlives the secrets it belongs to (`keepSigningKey`).
   */
  saveSecrets(secrets: Uint8Array, signingKey?: CryptoKey | null): Promise<void> {
    return this.#guard(async () => {
      const key = await this.#keyForSecrets();
      // Sealed before the transaction: awaiting WebCrypto inside one would let it commit.
      const sealed = await sealAtRest(key, secrets, this.#label(MetaKey.secrets));
      await this.#transaction([StoreName.meta], 'readwrite', async (tx) => {
        const meta = tx.objectStore(StoreName.meta);
        await settled(meta.put(sealed, MetaKey.secrets));
        if (signingKey === null) await settled(meta.delete(MetaKey.signingKey));
        else if (signingKey) await settled(meta.put(signingKey, MetaKey.signingKey));
      });
    });
  }

  /**
   * Replaces the stored secrets with `change(current)`, unless another tab replaced them after
   * they were read: then they are read again and `change` asked again. Resolves with the secrets
   * as stored afterwards; `change` returns null to leave them as they are. For something made
   * once on first use (a seat secret): however many tabs open the space at once, all end up
   * with the one that was stored.
   */
  updateSecrets(
    change: (current: Uint8Array | null) => Uint8Array | null,
  ): Promise<Uint8Array | null> {
    return this.#updateSealed(MetaKey.secrets, change);
  }

  /**
   * Stores the device's signing key as the platform holds it (`key`, non-extractable) and, in
   * the same transaction, the secrets `change` makes of the stored ones (without the key's
   * bytes): both or neither. When a signing key is stored already (another tab did the same
   * first), nothing is written. Resolves with the secrets and the signing key as stored after.
   */
  async keepSigningKey(
    key: CryptoKey,
    change: (current: Uint8Array | null) => Uint8Array | null,
  ): Promise<{ secrets: Uint8Array | null; signingKey: CryptoKey | null }> {
    const readKey = (meta: IDBObjectStore) =>
      settled(meta.get(MetaKey.signingKey)).then(parseStoredKey);
    const secrets = await this.#updateSealed(MetaKey.secrets, change, async (meta) => {
      if ((await readKey(meta)) !== null) return false;
      await settled(meta.put(key, MetaKey.signingKey));
      return true;
    });
    const signingKey = await this.#guard(() =>
      this.#transaction([StoreName.meta], 'readonly', (tx) =>
        readKey(tx.objectStore(StoreName.meta)),
      ),
    );
    return { secrets, signingKey };
  }

  /**
   * Replaces the sealing record (the keys this device offered to seal a plaintext space, and the
   * conversion it started) as `updateSecrets` replaces the secrets: sealed at rest, and with
   * another tab's change read again rather than overwritten. `change` returns null to keep it.
   */
  updateSealing(
    change: (current: Uint8Array | null) => Uint8Array | null,
  ): Promise<Uint8Array | null> {
    return this.#updateSealed(MetaKey.sealing, change);
  }

  /** The sealing record, or null. */
  loadSealing(): Promise<Uint8Array | null> {
    return this.updateSealing(() => null);
  }

  /** Forgets the sealing record. */
  dropSealing(): Promise<void> {
    return this.#guard(() =>
      this.#transaction([StoreName.meta], 'readwrite', async (tx) => {
        await settled(tx.objectStore(StoreName.meta).delete(MetaKey.sealing));
      }),
    );
  }

  /**
   * Makes a device's plaintext copy of a space this database's sealed copy, in one transaction:
   * the document's state, the replica's state (if given), the copy to carry over and the
   * membership's secrets are stored, and the sealing record is forgotten. Does nothing and
   * resolves false when secrets are stored already (the copy was adopted before: a second
   * membership must not replace the first, whose seat secret may have sealed answers).
   */
  adoptPlaintextCopy(copy: AdoptedCopy): Promise<boolean> {
    return this.#guard(async () => {
      const key = await this.#keyForSecrets();
      const sealed = await sealAtRest(key, copy.secrets, this.#label(MetaKey.secrets));
      return this.#transaction([StoreName.updates, StoreName.meta], 'readwrite', async (tx) => {
        const meta = tx.objectStore(StoreName.meta);
        if ((await settled(meta.get(MetaKey.secrets))) !== undefined) return false;
        await settled(tx.objectStore(StoreName.updates).add(ownBytes(copy.docState)));
        if (copy.replica !== null) {
          const record: ReplicaRecord = {
            since: copy.replica.since,
            state: ownBytes(copy.replica.state),
          };
          await settled(meta.put(record, MetaKey.replica));
        }
        if (copy.carry !== null) await settled(meta.put(ownBytes(copy.carry), MetaKey.carry));
        await settled(meta.put(sealed, MetaKey.secrets));
        await settled(meta.delete(MetaKey.sealing));
        return true;
      });
    });
  }

  /**
   * `also` writes more in the same transaction, or resolves false to leave everything as it is:
   * then this resolves with the secrets as they are.
   */
  #updateSealed(
    name: typeof MetaKey.secrets | typeof MetaKey.sealing,
    change: (current: Uint8Array | null) => Uint8Array | null,
    also?: (meta: IDBObjectStore) => Promise<boolean>,
  ): Promise<Uint8Array | null> {
    const readSealed = (tx: IDBTransaction) =>
      settled(tx.objectStore(StoreName.meta).get(name)).then(parseSealedSecrets);
    return this.#guard(async () => {
      const key = await this.#keyForSecrets();
      for (;;) {
        const before = await this.#transaction([StoreName.meta], 'readonly', readSealed);
        const current = await this.#openSecrets(before, key, name);
        const next = change(current);
        if (next === null) return current;
        // Sealed before the transaction: awaiting WebCrypto inside one would let it commit.
        const sealed = await sealAtRest(key, next, this.#label(name));
        const stored = await this.#transaction([StoreName.meta], 'readwrite', async (tx) => {
          const now = await readSealed(tx);
          if (!sameSealed(now, before)) return 'again';
          const meta = tx.objectStore(StoreName.meta);
          if (also && !(await also(meta))) return 'left';
          await settled(meta.put(sealed, name));
          return 'stored';
        });
        if (stored === 'stored') return next;
        if (stored === 'left') return current;
      }
    });
  }

  /** Closes this store's connection; later calls reject with `unavailable`. */
  close(): void {
    this.#db.close();
    this.#closedBecause ??= LocalStoreErrorReason.unavailable;
  }

  /**
   * Deletes the space's database from this device. Other tabs' stores close and refuse from
   * then on; a connection that will not close makes this reject with `blocked` (the deletion
   * then happens as soon as it closes).
   */
  async destroy(): Promise<void> {
    this.close();
    try {
      await deleteDatabase(this.#factory, databaseName(this.spaceId));
    } catch (error) {
      throw toLocalStoreError(error);
    }
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    if (this.#closedBecause !== null) throw new LocalStoreError(this.#closedBecause);
    try {
      return await work();
    } catch (error) {
      throw toLocalStoreError(error);
    }
  }

  #transaction<T>(
    stores: readonly StoreName[],
    mode: IDBTransactionMode,
    body: (tx: IDBTransaction) => Promise<T>,
  ): Promise<T> {
    return inTransaction(this.#db, stores, mode, body);
  }

  async #openSecrets(
    sealed: Uint8Array | null,
    key: CryptoKey | null,
    name: typeof MetaKey.secrets | typeof MetaKey.sealing = MetaKey.secrets,
  ): Promise<Uint8Array | null> {
    if (sealed === null) return null;
    if (key === null) throw new LocalStoreError(LocalStoreErrorReason.corrupt);
    try {
      return await openAtRest(key, sealed, this.#label(name));
    } catch (error) {
      throw new LocalStoreError(LocalStoreErrorReason.corrupt, { cause: error });
    }
  }

  /** The database's at-rest key, made the first time it is needed; one per database, ever. */
  async #keyForSecrets(): Promise<CryptoKey> {
    if (this.#atRestKey !== null) return this.#atRestKey;
    const readKey = (tx: IDBTransaction) =>
      settled(tx.objectStore(StoreName.meta).get(MetaKey.atRestKey)).then(parseStoredKey);
    let key = await this.#transaction([StoreName.meta], 'readonly', readKey);
    if (key === null) {
      const fresh = await createAtRestKey();
      // Another tab may have stored a key since the read above: keep the first one stored, so
      // secrets it sealed still open.
      key = await this.#transaction([StoreName.meta], 'readwrite', async (tx) => {
        const stored = await readKey(tx);
        if (stored !== null) return stored;
        await settled(tx.objectStore(StoreName.meta).add(fresh, MetaKey.atRestKey));
        return fresh;
      });
    }
    this.#atRestKey = key;
    return key;
  }

  /** What a sealed value is bound to: its place, so one cannot be moved into the other. */
  #label(name: typeof MetaKey.secrets | typeof MetaKey.sealing): Uint8Array {
    return encoder.encode(`mend/v1/at-rest/${name}/${this.spaceId}`);
  }
}

function indexedDBOf(options: Pick<LocalSpaceStoreOptions, 'indexedDB'>): IDBFactory {
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (factory === undefined) throw new LocalStoreError(LocalStoreErrorReason.unavailable);
  return factory;
}

/** Adds `entry` after every entry the outbox holds. */
async function addToOutbox(outbox: IDBObjectStore, entry: OutboxEntry): Promise<void> {
  const last = await settled(outbox.index(OUTBOX_BY_ORDER).openKeyCursor(null, 'prev'));
  const order = typeof last?.key === 'number' ? last.key + 1 : 1;
  const stored: StoredOutboxEntry = {
    stream: entry.stream,
    counter: entry.counter,
    envelope: ownBytes(entry.envelope),
    order,
  };
  // add, not put: a second envelope at a stored counter is a fork of the chain, never a
  // replacement (the server would close the socket with 4409 for it).
  await settled(outbox.add(stored));
}

function isUpTo(key: IDBValidKey, stream: number, counter: number): boolean {
  return Array.isArray(key) && key[0] === stream && typeof key[1] === 'number' && key[1] <= counter;
}

function merge(updates: Uint8Array[]): Uint8Array {
  try {
    return Y.mergeUpdates(updates);
  } catch (error) {
    throw new LocalStoreError(LocalStoreErrorReason.corrupt, { cause: error });
  }
}

function sameSealed(a: Uint8Array | null, b: Uint8Array | null): boolean {
  return a === null || b === null ? a === b : equalBytes(a, b);
}
