import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isSpaceId } from '@mend/protocol';
import Database from 'better-sqlite3';
import type { Config } from './config.js';
import { repairSpaceLog, type RepairReport } from './spaceRepair.js';
import { openStorage } from './storage/openStorage.js';
import {
  createPrivateFile,
  preparePrivateDirectory,
  preparePrivateFile,
} from './storage/privateFiles.js';
import { SQLITE_FILE_NAME, SqliteAdapter } from './storage/SqliteAdapter.js';

/** An operator mistake with a plain explanation (printed without a stack trace). */
export class AdminError extends Error {
  override name = 'AdminError';
}

function requireSqlite(config: Config, what: string): void {
  if (config.databaseUrl !== null) {
    throw new AdminError(
      `${what} covers the embedded SQLite database only. With DATABASE_URL set, use PostgreSQL's own tools (pg_dump / pg_restore).`,
    );
  }
}

/** A consistent online copy of the SQLite database into a new file. */
export async function backup(config: Config, target: string): Promise<string> {
  requireSqlite(config, 'backup');
  const file = path.join(config.dataDir, SQLITE_FILE_NAME);
  if (!existsSync(file)) throw new AdminError(`There is no database at ${file} to back up.`);
  const destination = path.resolve(target);
  if (existsSync(destination)) {
    throw new AdminError(`${destination} already exists; choose a new file name.`);
  }
  // VACUUM INTO copies one consistent snapshot (a read transaction, which in WAL mode never waits
  // for the server's writes) in a single pass. SQLite's page-by-page online backup instead starts
  // over whenever another connection writes, so under a steady writer it may never finish.
  // The target is created first, empty and 0600, so the copy is private whatever the umask.
  createPrivateFile(destination);
  // Not read-only although it only reads: a read-only connection cannot remove the -wal and -shm
  // files it creates when the server is stopped, and restore would then think a server runs.
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(destination);
    checkBackup(destination);
  } catch (error) {
    rmSync(destination, { force: true });
    throw error;
  } finally {
    db.close();
  }
  return `Backed up ${file} to ${destination}`;
}

/** Replaces the database with a checked backup, keeping the previous one beside it. */
export async function restore(config: Config, source: string): Promise<string> {
  requireSqlite(config, 'restore');
  const backupFile = path.resolve(source);
  if (!existsSync(backupFile)) throw new AdminError(`There is no backup at ${backupFile}.`);
  checkBackup(backupFile);
  const file = path.join(config.dataDir, SQLITE_FILE_NAME);
  if (existsSync(`${file}-wal`) || existsSync(`${file}-shm`)) {
    throw new AdminError(
      'The server seems to be running (the database has an open write-ahead log). Stop it first, then restore.',
    );
  }
  let keptAs: string | null = null;
  if (existsSync(file)) {
    keptAs = `${file}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(file, keptAs);
  }
  try {
    preparePrivateDirectory(config.dataDir);
    copyFileSync(backupFile, file);
    // The copy takes the backup's mode; an old backup may have been readable by others.
    preparePrivateFile(file);
    const restored = SqliteAdapter.inDirectory(config.dataDir);
    await restored.migrate();
    await restored.close();
  } catch (error) {
    rmSync(file, { force: true });
    if (keptAs) renameSync(keptAs, file);
    throw error;
  }
  return (
    `Restored ${file} from ${backupFile}.` +
    (keptAs ? ` The previous database was kept as ${keptAs}.` : '')
  );
}

/** Deletes a space with everything in it, for good. */
export async function deleteSpace(config: Config, spaceId: string): Promise<string> {
  if (!isSpaceId(spaceId)) throw new AdminError(`"${spaceId}" is not a space id.`);
  const storage = await openStorage(config);
  try {
    await storage.migrate();
    if (!(await storage.getSpace(spaceId))) {
      throw new AdminError(`There is no space ${spaceId}; nothing was deleted.`);
    }
    await storage.deleteSpace(spaceId);
    if (storage instanceof SqliteAdapter) storage.database.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    await storage.close();
  }
  return `Deleted space ${spaceId} with all its partners, tokens and content.`;
}

/** Refuses a file that is not an intact Mend database. */
function checkBackup(file: string): void {
  let db: Database.Database | null = null;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const integrity = db.pragma('integrity_check', { simple: true });
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all()
      .map((row) => (row as { name: string }).name);
    if (integrity !== 'ok' || !['spaces', 'partners', 'updates'].every((t) => tables.includes(t))) {
      throw new AdminError(`${file} is not an intact Mend database.`);
    }
  } catch (error) {
    if (error instanceof AdminError) throw error;
    throw new AdminError(`${file} is not a readable Mend database.`);
  } finally {
    db?.close();
  }
}

/**
 * Drops the stored updates that leave a space unreadable (written by an older version that let
 * them through) and says which; see repairSpaceLog. Safe while the server runs.
 */
export async function repairSpace(config: Config, spaceId: string): Promise<string> {
  if (!isSpaceId(spaceId)) throw new AdminError(`"${spaceId}" is not a space id.`);
  const storage = await openStorage(config);
  let report: RepairReport;
  try {
    await storage.migrate();
    if (!(await storage.getSpace(spaceId))) {
      throw new AdminError(`There is no space ${spaceId}; nothing was repaired.`);
    }
    report = await repairSpaceLog(storage, spaceId);
  } finally {
    await storage.close();
  }
  switch (report.outcome) {
    case 'healthy':
      return `Space ${spaceId} loads cleanly (${report.updates} updates after its snapshot); nothing was changed.`;
    case 'unreadable-snapshot':
      throw new AdminError(
        `The snapshot of space ${spaceId} (${report.snapshotBytes} bytes) cannot be loaded: ${report.detail}. ` +
          'Nothing was changed. Restore the space from a backup taken before it broke.',
      );
    case 'repaired':
      return [
        `Repaired space ${spaceId}: dropped ${report.dropped.length} of ${report.kept + report.dropped.length} updates that left it unreadable:`,
        ...report.dropped.map((d) => `  seq ${d.seq} (${d.bytes} bytes): ${d.reason}`),
        `What remains is now one snapshot of ${report.snapshotBytes} bytes. Devices reconnect and sync as usual; one that sends a dropped update again is refused (4400).`,
      ].join('\n');
  }
}
