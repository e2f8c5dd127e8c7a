import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { PostgresAdapter } from './PostgresAdapter.js';
import { SqliteAdapter } from './SqliteAdapter.js';
import type { StorageAdapter } from './StorageAdapter.js';

/** The storage engine the configuration asks for: PostgreSQL with DATABASE_URL, else SQLite. */
export async function openStorage(config: Config, log?: Logger): Promise<StorageAdapter> {
  if (config.databaseUrl !== null) {
    return new PostgresAdapter({ connectionString: config.databaseUrl, ...(log ? { log } : {}) });
  }
  return SqliteAdapter.inDirectory(config.dataDir, log ? { log } : {});
}
