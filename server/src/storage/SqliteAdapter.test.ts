import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteAdapter } from './SqliteAdapter.js';
import { defineStorageContract } from './storageContract.testkit.js';

const dirs = new Map<SqliteAdapter, string>();

defineStorageContract(
  'SQLite',
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mend-sqlite-'));
    const adapter = SqliteAdapter.inDirectory(dir);
    dirs.set(adapter, dir);
    return adapter;
  },
  async (adapter) => {
    await adapter.close();
    const dir = dirs.get(adapter as SqliteAdapter);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
);
