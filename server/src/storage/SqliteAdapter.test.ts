import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SqliteAdapter } from './SqliteAdapter.js';
import { defineDeviceLinkContract } from './deviceLinkContract.testkit.js';
import { defineDeviceStoreContract } from './deviceStoreContract.testkit.js';
import { defineReturnLinkContract } from './returnLinkContract.testkit.js';
import { defineEpochBoxContract } from './epochBoxContract.testkit.js';
import { definePlaintextSealContract } from './plaintextSealContract.testkit.js';
import { defineSealedLogContract } from './sealedLogContract.testkit.js';
import { defineSpaceDirectoryContract } from './spaceDirectoryContract.testkit.js';
import type { StorageAdapter } from './StorageAdapter.js';
import { defineUpdateLogContract } from './updateLogContract.testkit.js';

const dirs = new Map<StorageAdapter, string>();

async function open(): Promise<SqliteAdapter> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mend-sqlite-'));
  const adapter = SqliteAdapter.inDirectory(dir);
  dirs.set(adapter, dir);
  return adapter;
}

async function dispose(adapter: StorageAdapter): Promise<void> {
  await adapter.close();
  const dir = dirs.get(adapter);
  if (dir) rmSync(dir, { recursive: true, force: true });
}

defineUpdateLogContract('SQLite', open, dispose);
defineSpaceDirectoryContract('SQLite', open, dispose);
defineSealedLogContract('SQLite', open, dispose);
definePlaintextSealContract('SQLite', open, dispose);
defineDeviceLinkContract('SQLite', open, dispose);
defineReturnLinkContract('SQLite', open, dispose);
defineDeviceStoreContract('SQLite', open, dispose);
defineEpochBoxContract('SQLite', open, dispose);
