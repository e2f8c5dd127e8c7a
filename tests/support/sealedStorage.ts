/**
 * The server's SQLite database as an attacker with the disk sees it: the tamper tests open the
 * running server's file beside it (WAL lets a second connection read and write) and change the
 * sealed log directly. Table layout: server/src/storage/sqliteMigrations.ts.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { MendServer } from './server.js';

export interface StoredEnvelopeRow {
  readonly seq: number;
  readonly stream: number;
  readonly counter: number;
  readonly data: Buffer;
}

/** The SQLite file of a server started without DATABASE_URL. */
export function sqliteFile(server: Pick<MendServer, 'dataDir'>): string {
  return join(server.dataDir, 'mend.sqlite');
}

/** A connection to the server's database that waits, rather than fails, for its write lock. */
export function openServerDatabase(server: Pick<MendServer, 'dataDir'>): Database.Database {
  const db = new Database(sqliteFile(server));
  db.pragma('busy_timeout = 5000');
  return db;
}

export function envelopeRows(db: Database.Database, spaceId: string): StoredEnvelopeRow[] {
  return db
    .prepare(
      'SELECT seq, stream, counter, data FROM sealed_envelopes WHERE space_id = ? ORDER BY seq',
    )
    .all(spaceId) as StoredEnvelopeRow[];
}

export function replaceEnvelope(
  db: Database.Database,
  spaceId: string,
  seq: number,
  data: Uint8Array,
): void {
  db.prepare('UPDATE sealed_envelopes SET data = ? WHERE space_id = ? AND seq = ?').run(
    Buffer.from(data),
    spaceId,
    seq,
  );
}

export function deleteEnvelope(db: Database.Database, spaceId: string, seq: number): void {
  db.prepare('DELETE FROM sealed_envelopes WHERE space_id = ? AND seq = ?').run(spaceId, seq);
}

/** Swaps the positions of two stored envelopes (their bytes and columns move together). */
export function swapEnvelopes(db: Database.Database, spaceId: string, a: number, b: number): void {
  const move = db.prepare('UPDATE sealed_envelopes SET seq = ? WHERE space_id = ? AND seq = ?');
  db.transaction(() => {
    move.run(-1, spaceId, a);
    move.run(a, spaceId, b);
    move.run(b, spaceId, -1);
  })();
}

/**
 * Stores `data` at the next position, as the server would store an envelope it accepted. The
 * stream and counter columns (the server's index for resends) get values no device uses, so the
 * unique index lets a copy of a stored envelope in.
 */
export function appendEnvelope(db: Database.Database, spaceId: string, data: Uint8Array): number {
  const { head } = db
    .prepare('SELECT COALESCE(MAX(seq), 0) AS head FROM sealed_envelopes WHERE space_id = ?')
    .get(spaceId) as { head: number };
  db.prepare(
    `INSERT INTO sealed_envelopes (space_id, seq, stream, counter, hash, data)
     VALUES (?, ?, -1, ?, zeroblob(32), ?)`,
  ).run(spaceId, head + 1, -(head + 1), Buffer.from(data));
  return head + 1;
}

/** The stored snapshot of a space, or null. */
export function snapshotRow(
  db: Database.Database,
  spaceId: string,
): { readonly coversSeq: number; readonly data: Buffer } | null {
  const row = db
    .prepare('SELECT covers_seq AS coversSeq, data FROM sealed_snapshots WHERE space_id = ?')
    .get(spaceId) as { coversSeq: number; data: Buffer } | undefined;
  return row ?? null;
}
