// Mend's storage seen from outside, with the server stopped: bytes on disk and bytes of document
// data, read with the same better-sqlite3 the server uses. Compaction runs Mend's own DocStore.
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoRoot } from './targets.mjs';

const requireFromServer = createRequire(path.join(repoRoot, 'server/package.json'));
const Database = requireFromServer('better-sqlite3');

function databaseFile(dataDir) {
  const name = readdirSync(dataDir).find((f) => /\.(sqlite3?|db)$/.test(f));
  if (!name) throw new Error(`no SQLite database in ${dataDir}`);
  return path.join(dataDir, name);
}

/** Checkpoints the WAL into the main file, then measures what is on disk for the space. */
export function measureStorage(dataDir, spaceId) {
  const file = databaseFile(dataDir);
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true });
    const pageCount = db.pragma('page_count', { simple: true });
    const freePages = db.pragma('freelist_count', { simple: true });
    const snapshot = db
      .prepare('SELECT LENGTH(snapshot) AS bytes FROM spaces WHERE space_id = ?')
      .get(spaceId);
    const log = db
      .prepare(
        'SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM updates WHERE space_id = ?',
      )
      .get(spaceId);
    const walFile = `${file}-wal`;
    let walBytes = 0;
    try {
      walBytes = statSync(walFile).size;
    } catch {
      // no WAL left after the checkpoint
    }
    return {
      fileBytes: statSync(file).size + walBytes,
      bytesInUse: (pageCount - freePages) * pageSize,
      snapshotBytes: snapshot?.bytes ?? 0,
      logRows: log.rows,
      logBytes: log.bytes,
      documentBytes: (snapshot?.bytes ?? 0) + log.bytes,
    };
  } finally {
    db.close();
  }
}

/** Runs Mend's compaction (DocStore.compact over its SQLite adapter) on a stopped server's data. */
export async function compactWithMend(dataDir, spaceId) {
  const dist = path.join(repoRoot, 'server/dist/storage');
  const { SqliteAdapter } = await import(pathToFileURL(path.join(dist, 'SqliteAdapter.js')).href);
  const { DocStore } = await import(pathToFileURL(path.join(dist, 'DocStore.js')).href);
  const storage = SqliteAdapter.inDirectory(dataDir);
  try {
    await storage.migrate();
    const store = new DocStore(storage, {
      compactAfterUpdates: Infinity,
      compactAfterBytes: Infinity,
    });
    await store.compact(spaceId);
  } finally {
    await storage.close();
  }
}

/** The same file after VACUUM: what compaction can give back to the file system. */
export function vacuumedBytes(dataDir) {
  const file = databaseFile(dataDir);
  const db = new Database(file);
  try {
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return statSync(file).size;
}

/** A sealed space on disk, with the server stopped: its snapshot, its envelopes, the file. */
export function measureSealedStorage(dataDir, spaceId) {
  const file = databaseFile(dataDir);
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true });
    const inUse =
      db.pragma('page_count', { simple: true }) - db.pragma('freelist_count', { simple: true });
    const snapshot = db
      .prepare('SELECT LENGTH(data) AS bytes FROM sealed_snapshots WHERE space_id = ?')
      .get(spaceId);
    const log = db
      .prepare(
        'SELECT COUNT(*) AS rows, COALESCE(SUM(LENGTH(data)), 0) AS bytes FROM sealed_envelopes WHERE space_id = ?',
      )
      .get(spaceId);
    return {
      fileBytes: statSync(file).size,
      bytesInUse: inUse * pageSize,
      snapshotBytes: snapshot?.bytes ?? 0,
      envelopeRows: log.rows,
      envelopeBytes: log.bytes,
    };
  } finally {
    db.close();
  }
}
