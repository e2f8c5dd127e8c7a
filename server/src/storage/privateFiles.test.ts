import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backup, restore } from '../adminCommands.js';
import { testConfig } from '../testConfig.testkit.js';
import { tempDirsPerTest } from '../tempDirs.testkit.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import type { TighteningLog } from './privateFiles.js';
import { SQLITE_FILE_NAME, SqliteAdapter } from './SqliteAdapter.js';

const scratch = tempDirsPerTest('mend-modes-');
let umaskBefore = 0;

beforeEach(() => {
  // The umask a careless service manager might leave: group and others may read new files.
  umaskBefore = process.umask(0o022);
});

afterEach(() => {
  process.umask(umaskBefore);
});

function modeOf(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

function warnings(): { lines: string[]; log: TighteningLog } {
  const lines: string[] = [];
  return { lines, log: { warn: (_obj, msg) => lines.push(msg) } };
}

describe('the data directory and database files under a permissive umask', () => {
  it('creates the directory 0700 and the database, WAL and shared-memory files 0600', async () => {
    const dataDir = path.join(scratch(), 'data');
    const storage = SqliteAdapter.inDirectory(dataDir);
    await storage.migrate();
    const spaceId = await createBareSpace(storage);
    await storage.appendUpdate(spaceId, new Uint8Array([1, 2, 3]));
    const file = path.join(dataDir, SQLITE_FILE_NAME);
    try {
      expect(existsSync(`${file}-wal`)).toBe(true);
      expect(
        [dataDir, file, `${file}-wal`, `${file}-shm`].map((f) => [path.basename(f), modeOf(f)]),
      ).toEqual([
        ['data', '700'],
        [SQLITE_FILE_NAME, '600'],
        [`${SQLITE_FILE_NAME}-wal`, '600'],
        [`${SQLITE_FILE_NAME}-shm`, '600'],
      ]);
    } finally {
      await storage.close();
    }
  });

  it('tightens an existing directory and database others could read, and says so', async () => {
    const dataDir = path.join(scratch(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const file = path.join(dataDir, SQLITE_FILE_NAME);
    const before = SqliteAdapter.inDirectory(dataDir);
    await before.migrate();
    await before.close();
    chmodSync(dataDir, 0o755);
    chmodSync(file, 0o644);

    const { lines, log } = warnings();
    const storage = SqliteAdapter.inDirectory(dataDir, { log });
    await storage.migrate();
    await storage.appendUpdate(await createBareSpace(storage), new Uint8Array([4]));
    try {
      expect([modeOf(dataDir), modeOf(file), modeOf(`${file}-wal`)]).toEqual(['700', '600', '600']);
      expect(lines).toEqual([
        'tightened the data directory so only this user can read it',
        'tightened a database file so only this user can read it',
      ]);
    } finally {
      await storage.close();
    }
  });

  it('writes every backup 0600, and a restored database 0600 even from a readable backup', async () => {
    const dataDir = path.join(scratch(), 'data');
    const live = SqliteAdapter.inDirectory(dataDir);
    await live.migrate();
    const spaceId = await createBareSpace(live);
    await live.appendUpdate(spaceId, new Uint8Array([5, 6]));
    const copy = path.join(scratch(), 'backup.sqlite');
    await backup(testConfig({ dataDir }), copy);
    await live.close();
    expect(modeOf(copy)).toBe('600');

    chmodSync(copy, 0o644);
    const freshDir = path.join(scratch(), 'fresh');
    await restore(testConfig({ dataDir: freshDir }), copy);
    expect([modeOf(freshDir), modeOf(path.join(freshDir, SQLITE_FILE_NAME))]).toEqual([
      '700',
      '600',
    ]);
  });
});
