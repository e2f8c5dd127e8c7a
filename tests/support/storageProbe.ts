/**
 * Looking for a sentence in what the server keeps, as someone with its disk or its database would:
 * every file under a SQLite server's data directory (the database, its WAL and shared-memory
 * files), and every row of every table of Mend's PostgreSQL schema.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { MendServer } from './server.js';

export interface DataFile {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Every file under the server's data directory (the SQLite database, -wal, -shm). */
export async function dataFiles(server: Pick<MendServer, 'dataDir'>): Promise<DataFile[]> {
  const files: DataFile[] = [];
  for (const entry of await readdir(server.dataDir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const name = join(entry.parentPath, entry.name);
    files.push({ name, bytes: await readFile(name) });
  }
  return files;
}

/** The names of the files whose bytes hold `needle` (UTF-8). */
export function holding(files: readonly DataFile[], needle: string): string[] {
  return files.filter((f) => f.bytes.includes(Buffer.from(needle))).map((f) => f.name);
}

/** The tables every probe must see, or the probe looks in the wrong schema. */
const EXPECTED_TABLES = ['doc_updates', 'doc_snapshots', 'partners', 'sealed_envelopes'];

/**
 * The tables of Mend's schema with a row whose text form holds `needle`, as text (names) or as
 * the hex of its bytes (bytea columns read as `\x…`).
 */
export async function rowsHolding(db: pg.Client, needle: string): Promise<string[]> {
  const tables = await db.query<{ table: string }>(
    `SELECT table_name AS table FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
  );
  const names = tables.rows.map((t) => t.table);
  const absent = EXPECTED_TABLES.filter((t) => !names.includes(t));
  if (absent.length > 0) throw new Error(`the schema has no table ${absent.join(', ')}`);
  const hex = Buffer.from(needle).toString('hex');
  const found: string[] = [];
  for (const table of names) {
    const result = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.${pg.escapeIdentifier(table)} t
        WHERE strpos(t::text, $1) > 0 OR strpos(t::text, $2) > 0`,
      [needle, hex],
    );
    if ((result.rows[0]?.n ?? 0) > 0) found.push(table);
  }
  return found;
}
