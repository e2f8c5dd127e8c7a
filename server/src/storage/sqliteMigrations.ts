import type Database from 'better-sqlite3';
import { NewerSchemaError } from './schemaVersion.js';

/**
 * Ordered schema changes for the SQLite database; the version is `PRAGMA user_version` (the
 * number of entries applied). An entry is never edited once released: a change is a new entry,
 * so every database walks the same path, as in PostgresAdapter's MIGRATIONS.
 *
 * Entry 1 is the schema as it stood before versions existed, kept with its IF NOT EXISTS: a
 * database from then has user_version 0 and these tables already, and passes through it
 * unchanged.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS spaces (
  space_id TEXT PRIMARY KEY,
  name TEXT,
  created_at INTEGER NOT NULL,
  invite_hash BLOB NOT NULL,
  invite_used_at INTEGER,
  snapshot BLOB,
  snapshot_seq INTEGER
);
CREATE TABLE IF NOT EXISTS partners (
  partner_id TEXT NOT NULL,
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (space_id, partner_id)
);
CREATE TABLE IF NOT EXISTS doc_checks (
  space_id TEXT NOT NULL,
  partner_id TEXT NOT NULL,
  schema_version INTEGER NOT NULL,
  PRIMARY KEY (space_id, partner_id),
  FOREIGN KEY (space_id, partner_id) REFERENCES partners(space_id, partner_id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS updates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS updates_by_space ON updates (space_id, seq);`,
  // Sealed spaces (docs/protocol.md): no name, devices instead of partner rows, and a log of
  // envelopes numbered per space. Stream heads live apart so they survive compaction.
  `ALTER TABLE spaces ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE spaces ADD COLUMN welcome BLOB;
CREATE TABLE devices (
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  partner_id TEXT NOT NULL,
  signing_key BLOB NOT NULL,
  agreement_key BLOB NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (space_id, signing_key)
);
CREATE TABLE sealed_envelopes (
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  stream INTEGER NOT NULL,
  counter INTEGER NOT NULL,
  hash BLOB NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (space_id, seq)
);
CREATE UNIQUE INDEX sealed_envelopes_by_stream ON sealed_envelopes (space_id, stream, counter);
CREATE TABLE sealed_streams (
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  stream INTEGER NOT NULL,
  author BLOB NOT NULL,
  counter INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (space_id, stream)
);
CREATE TABLE sealed_snapshots (
  space_id TEXT PRIMARY KEY REFERENCES spaces(space_id) ON DELETE CASCADE,
  covers_seq INTEGER NOT NULL,
  data BLOB NOT NULL
);`,
  // The welcome box handed over before the join, to a device that may retry (docs/api.md).
  `ALTER TABLE spaces ADD COLUMN welcome_taken_at INTEGER;`,
  // A device removed from its space (docs/api.md, DELETE /sync/:spaceId): its row stays (the seat
  // and the sealed membership log still name it), its token finds nothing any more.
  `ALTER TABLE partners ADD COLUMN revoked_at INTEGER;
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;`,
  // A converted plaintext space (docs/protocol.md): the box of the space key the converting
  // device left for each other device, which it fetches with GET /sync/:id/key.
  `ALTER TABLE devices ADD COLUMN key_box BLOB;`,
  // Linking a device (docs/protocol.md): a seat's offer, the new device's claim, the seat's
  // confirmation with the link box, and its collection. Codes only as SHA-256 hashes.
  `CREATE TABLE device_links (
  link_id TEXT PRIMARY KEY,
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  partner_id TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('open', 'claimed', 'confirmed', 'ended')),
  claim_hash BLOB,
  signing_key BLOB,
  agreement_key BLOB,
  box BLOB,
  link_seq INTEGER,
  confirmed_at INTEGER,
  collected_at INTEGER
);
CREATE INDEX device_links_by_code ON device_links (space_id, code_hash);`,
  // Removing a device and the recovery kit (docs/protocol.md, issue 13): when a device's sealed
  // socket last authenticated, who removed it, and a seat's recovery device with its kit box;
  // recovery challenges (SHA-256 only) and failed recovery attempts, per space.
  `ALTER TABLE devices ADD COLUMN last_seen_at INTEGER;
ALTER TABLE devices ADD COLUMN revoked_by BLOB;
ALTER TABLE devices ADD COLUMN recovery INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN recovery_box BLOB;
ALTER TABLE devices ADD COLUMN recovery_link_seq INTEGER;
CREATE TABLE recovery_challenges (
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  challenge_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (space_id, challenge_hash)
);
CREATE TABLE recovery_failures (
  space_id TEXT NOT NULL REFERENCES spaces(space_id) ON DELETE CASCADE,
  at INTEGER NOT NULL
);
CREATE INDEX recovery_failures_by_space ON recovery_failures (space_id, at);`,
  // Catching up across a key change (docs/protocol.md): the boxes of a new epoch's key left for
  // each device, the highest epoch only, at most four writers; they go with their device's row
  // and with its revocation.
  `CREATE TABLE epoch_boxes (
  space_id TEXT NOT NULL,
  signing_key BLOB NOT NULL,
  epoch INTEGER NOT NULL,
  writer BLOB NOT NULL,
  box BLOB NOT NULL,
  PRIMARY KEY (space_id, signing_key, epoch, writer),
  FOREIGN KEY (space_id, signing_key) REFERENCES devices(space_id, signing_key) ON DELETE CASCADE
);`,
  // Returning to a seat (docs/protocol.md, issue 13): the seat a link adds a device to, the
  // offering seat's own or, for a return link, the other partner's. Earlier links are own links.
  `ALTER TABLE device_links ADD COLUMN target_partner_id TEXT;
UPDATE device_links SET target_partner_id = partner_id;`,
];

/**
 * Brings the database up to the last migration, each in its own transaction together with the
 * new version number, so a crash leaves it at a whole version. The transactions are IMMEDIATE:
 * a second process starting at the same moment waits (busy_timeout) for the write lock, then
 * reads the version the first one left and has nothing to do.
 */
export function migrateSqlite(
  db: Database.Database,
  where: string,
  migrations: readonly string[] = SQLITE_MIGRATIONS,
): void {
  const step = db.transaction((): boolean => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > migrations.length) throw new NewerSchemaError(where, version, migrations.length);
    const next = migrations[version];
    if (next === undefined) return false;
    db.exec(next);
    // Inside the transaction: the version and the change commit (or roll back) together.
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  while (step.immediate());
}
