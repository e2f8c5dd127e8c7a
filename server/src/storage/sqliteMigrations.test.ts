import path from 'node:path';
import type { PartnerId, SpaceId } from '@mend/protocol';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { NewerSchemaError } from './schemaVersion.js';
import { SQLITE_FILE_NAME, SqliteAdapter } from './SqliteAdapter.js';
import { SQLITE_MIGRATIONS, migrateSqlite } from './sqliteMigrations.js';
import { tempDirsPerTest } from '../tempDirs.testkit.js';

/**
 * The schema exactly as main at 4ef9209 created it (SqliteAdapter's SCHEMA, before versions):
 * a fixture, deliberately a copy, so a later edit of migration 1 cannot hide a broken upgrade.
 */
const UNVERSIONED_SCHEMA = `
CREATE TABLE IF NOT EXISTS spaces (
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
CREATE INDEX IF NOT EXISTS updates_by_space ON updates (space_id, seq);
`;

const tempDir = tempDirsPerTest('mend-migrate-');

function databaseFile(): string {
  return path.join(tempDir(), SQLITE_FILE_NAME);
}

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('notes').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

const spaceId = 'c3BhY2Utb2YtdG9kYXktMQ' as SpaceId;
const partnerA = 'cGFydG5lci1hLXRvZGF5MQ' as PartnerId;
const partnerB = 'cGFydG5lci1iLXRvZGF5MQ' as PartnerId;

/** A database as a server at 4ef9209 left it: one space, compacted once, with two partners. */
function writeUnversionedDatabase(file: string): { snapshot: Uint8Array; later: Uint8Array } {
  const snapshot = textUpdate('written before versions');
  const later = textUpdate('and after the snapshot');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(UNVERSIONED_SCHEMA);
  db.prepare(
    `INSERT INTO spaces (space_id, name, created_at, invite_hash, invite_used_at, snapshot, snapshot_seq)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    spaceId,
    'Our space',
    1_700_000_000_000,
    Buffer.alloc(32, 1),
    1_700_000_100_000,
    Buffer.from(snapshot),
    7,
  );
  const partner = db.prepare(
    'INSERT INTO partners (partner_id, space_id, display_name, token_hash, joined_at) VALUES (?, ?, ?, ?, ?)',
  );
  partner.run(partnerA, spaceId, 'Robin', Buffer.alloc(32, 2), 1_700_000_000_000);
  partner.run(partnerB, spaceId, 'Sam', Buffer.alloc(32, 3), 1_700_000_100_000);
  db.prepare('INSERT INTO doc_checks (space_id, partner_id, schema_version) VALUES (?, ?, ?)').run(
    spaceId,
    partnerA,
    3,
  );
  db.prepare('INSERT INTO updates (seq, space_id, data) VALUES (?, ?, ?)').run(
    8,
    spaceId,
    Buffer.from(later),
  );
  db.close();
  return { snapshot, later };
}

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('SQLite schema versions', () => {
  it('upgrades a database written before versions existed and reads its data back', async () => {
    const file = databaseFile();
    const { snapshot, later } = writeUnversionedDatabase(file);
    expect(userVersion(file)).toBe(0);

    const storage = new SqliteAdapter(file);
    await storage.migrate();
    try {
      expect(userVersion(file)).toBe(SQLITE_MIGRATIONS.length);
      expect(await storage.getSpace(spaceId)).toEqual({
        spaceId,
        name: 'Our space',
        createdAt: 1_700_000_000_000,
        inviteHash: new Uint8Array(32).fill(1),
        inviteUsedAt: 1_700_000_100_000,
        sealed: false,
        welcome: null,
        welcomeTakenAt: null,
      });
      expect(
        (await storage.listPartners(spaceId)).map((p) => [p.partnerId, p.displayName]),
      ).toEqual([
        [partnerA, 'Robin'],
        [partnerB, 'Sam'],
      ]);
      expect((await storage.findPartnerByTokenHash(new Uint8Array(32).fill(3)))?.partnerId).toBe(
        partnerB,
      );
      expect(await storage.getDocCheck(spaceId, partnerA)).toBe(3);
      expect(await storage.loadDoc(spaceId)).toEqual({
        snapshot,
        updates: [{ seq: 8, data: later }],
      });
      // And it goes on working: a new update follows the old ones.
      expect(await storage.appendUpdate(spaceId, textUpdate('!'))).toBe(9);
    } finally {
      await storage.close();
    }
    const again = new SqliteAdapter(file);
    await again.migrate();
    expect(userVersion(file)).toBe(SQLITE_MIGRATIONS.length);
    await again.close();
  });

  it('refuses a database written by a newer version, saying so plainly, and leaves it as it was', async () => {
    const file = databaseFile();
    writeUnversionedDatabase(file);
    const db = new Database(file);
    db.pragma(`user_version = ${SQLITE_MIGRATIONS.length + 1}`);
    db.close();

    const storage = new SqliteAdapter(file);
    try {
      const refused = storage.migrate();
      await expect(refused).rejects.toBeInstanceOf(NewerSchemaError);
      await expect(refused).rejects.toThrow(
        `The database at ${file} was written by a newer version of Mend (schema version ${SQLITE_MIGRATIONS.length + 1}`,
      );
    } finally {
      await storage.close();
    }
    expect(userVersion(file)).toBe(SQLITE_MIGRATIONS.length + 1);
  });

  it('makes the device links from before return links existed links of their own seat', () => {
    const db = new Database(databaseFile());
    try {
      migrateSqlite(db, 'test', SQLITE_MIGRATIONS.slice(0, -1));
      db.prepare(
        'INSERT INTO spaces (space_id, created_at, invite_hash, sealed) VALUES (?, 1, ?, 1)',
      ).run(spaceId, Buffer.alloc(32));
      db.prepare(
        `INSERT INTO device_links
           (link_id, space_id, partner_id, code_hash, created_at, expires_at, state)
         VALUES ('link', ?, ?, ?, 1, 2, 'open')`,
      ).run(spaceId, partnerA, Buffer.alloc(32));
      migrateSqlite(db, 'test');
      expect(db.prepare('SELECT partner_id, target_partner_id FROM device_links').all()).toEqual([
        { partner_id: partnerA, target_partner_id: partnerA },
      ]);
    } finally {
      db.close();
    }
  });

  it('applies migrations in order, each whole or not at all', () => {
    const db = new Database(databaseFile());
    try {
      const migrations = [
        'CREATE TABLE first (a INTEGER)',
        'ALTER TABLE first ADD COLUMN b INTEGER; CREATE TABLE second (c INTEGER)',
        'CREATE TABLE third (d INTEGER); INSERT INTO missing VALUES (1)',
      ];
      expect(() => migrateSqlite(db, 'test', migrations)).toThrow(/missing/);
      expect(db.pragma('user_version', { simple: true })).toBe(2);
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all()
        .map((row) => (row as { name: string }).name);
      expect(tables).toEqual(['first', 'second']);
      expect(db.prepare('SELECT b FROM first').all()).toEqual([]);

      migrateSqlite(db, 'test', migrations.slice(0, 2));
      expect(db.pragma('user_version', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });
});
