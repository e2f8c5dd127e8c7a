import type { SpaceId } from '@mend/protocol';

/** The object stores of a space's database. */
export const StoreName = {
  /** Yjs updates (v1) of the space's document, keyed by an auto-increment number. */
  updates: 'updates',
  /** Sealed envelopes the server has not acknowledged, keyed by `[stream, counter]`. */
  outbox: 'outbox',
  /** Single records under the keys of `MetaKey`. */
  meta: 'meta',
  /**
   * Changes made on this device while it was not connected, not sealed yet: `{ stream, update }`
   * keyed by an auto-increment number (the order they were made in), until they are sealed into
   * the outbox (docs/protocol.md, "Changes made offline").
   */
  held: 'held',
} as const;
export type StoreName = (typeof StoreName)[keyof typeof StoreName];

export const MetaKey = {
  /** `{ since, state }`: the replica's verification state as of `since`. */
  replica: 'replica',
  /** The device's secrets, sealed at rest (`sealAtRest` in crypto.ts). */
  secrets: 'secrets',
  /** The non-extractable CryptoKey that seals the secrets. */
  atRestKey: 'atRestKey',
  /**
   * The device's Ed25519 signing key as the platform holds it (a non-extractable CryptoKey),
   * once it does: the secrets then hold its public half alone (`SealedSession.open`).
   */
  signingKey: 'signingKey',
  /**
   * Before a plaintext space is sealed: the device's keys offered for it and the conversion it
   * started, sealed at rest like the secrets (client/sealingRecord.ts). Gone once the device
   * holds the sealed space's secrets.
   */
  sealing: 'sealing',
  /**
   * The plaintext copy (a Yjs state) whose changes the sealed log may lack, until they are
   * sealed as a carried envelope (docs/protocol.md, "Converting a plaintext space").
   */
  carry: 'carry',
} as const;

/** Outbox index on the order entries were written in, across streams (page loads). */
export const OUTBOX_BY_ORDER = 'byOrder';

/** Index of the held changes on their stream. */
export const HELD_BY_STREAM = 'byStream';

export function databaseName(spaceId: SpaceId): string {
  return `mend-sealed-${spaceId}`;
}

/** One schema change: brings a database from the version before it to its own. */
export type SchemaStep = (db: IDBDatabase, tx: IDBTransaction) => void;

/**
 * Step i brings a database to version i + 1. A new version appends a step and never edits an
 * old one, so a database of any earlier version is brought up to date by the steps it lacks.
 */
export const SCHEMA_STEPS: readonly SchemaStep[] = [
  (db) => {
    db.createObjectStore(StoreName.updates, { autoIncrement: true });
    const outbox = db.createObjectStore(StoreName.outbox, { keyPath: ['stream', 'counter'] });
    outbox.createIndex(OUTBOX_BY_ORDER, 'order', { unique: true });
    db.createObjectStore(StoreName.meta);
  },
  (db) => {
    const held = db.createObjectStore(StoreName.held, { autoIncrement: true });
    held.createIndex(HELD_BY_STREAM, 'stream');
  },
];

export const SCHEMA_VERSION = SCHEMA_STEPS.length;

export function upgradeSchema(
  db: IDBDatabase,
  tx: IDBTransaction,
  fromVersion: number,
  steps: readonly SchemaStep[] = SCHEMA_STEPS,
): void {
  for (const step of steps.slice(fromVersion)) step(db, tx);
}
