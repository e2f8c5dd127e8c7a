import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdminError, backup, deleteSpace, restore } from './adminCommands.js';
import { SqliteAdapter } from './storage/SqliteAdapter.js';
import { testConfig } from './testConfig.testkit.js';
import { tempDirsPerTest } from './tempDirs.testkit.js';
import { createBareSpace, storedSpaceInDirectory } from './testSpaces.testkit.js';

const tempDir = tempDirsPerTest('mend-admin-');

describe('operator commands', () => {
  it('backs up while the database is open, and restores the backup after a loss', async () => {
    const dataDir = tempDir();
    const config = testConfig({ dataDir });
    const live = SqliteAdapter.inDirectory(dataDir);
    await live.migrate();
    const kept = await createBareSpace(live);
    await live.appendUpdate(kept, new Uint8Array([1, 2, 3]));
    const file = path.join(tempDir(), 'backup.sqlite');

    expect(await backup(config, file)).toContain('Backed up');
    const lost = await createBareSpace(live);
    await live.deleteSpace(kept);
    await live.close();

    expect(await restore(config, file)).toContain('previous database was kept');
    const restored = SqliteAdapter.inDirectory(dataDir);
    expect(await restored.getSpace(kept)).not.toBeNull();
    expect((await restored.loadDoc(kept)).updates.map((u) => [...u.data])).toEqual([[1, 2, 3]]);
    expect(await restored.getSpace(lost)).toBeNull();
    await restored.close();
    expect(readdirSync(dataDir).some((name) => name.includes('before-restore'))).toBe(true);
  });

  it('never overwrites an existing file with a backup', async () => {
    const dataDir = tempDir();
    const live = SqliteAdapter.inDirectory(dataDir);
    await live.migrate();
    await live.close();
    const file = path.join(tempDir(), 'taken.sqlite');
    writeFileSync(file, 'precious');
    await expect(backup(testConfig({ dataDir }), file)).rejects.toBeInstanceOf(AdminError);
  });

  it('refuses to restore a file that is not a Mend database, touching nothing', async () => {
    const dataDir = tempDir();
    const live = SqliteAdapter.inDirectory(dataDir);
    await live.migrate();
    const spaceId = await createBareSpace(live);
    await live.close();
    const junk = path.join(tempDir(), 'junk.sqlite');
    writeFileSync(junk, 'not a database at all');
    await expect(restore(testConfig({ dataDir }), junk)).rejects.toBeInstanceOf(AdminError);
    const after = SqliteAdapter.inDirectory(dataDir);
    expect(await after.getSpace(spaceId)).not.toBeNull();
    await after.close();
  });

  it('refuses to restore while a server holds the database open', async () => {
    const dataDir = tempDir();
    const live = SqliteAdapter.inDirectory(dataDir);
    await live.migrate();
    await createBareSpace(live);
    const file = path.join(tempDir(), 'backup.sqlite');
    await backup(testConfig({ dataDir }), file);
    await expect(restore(testConfig({ dataDir }), file)).rejects.toThrow(/running/);
    await live.close();
  });

  it('deletes a space with everything in it, and says so when there is no such space', async () => {
    const dataDir = tempDir();
    const spaceId = await storedSpaceInDirectory(dataDir, new Uint8Array([7]));
    const config = testConfig({ dataDir });
    expect(await deleteSpace(config, spaceId)).toContain('Deleted space');
    await expect(deleteSpace(config, spaceId)).rejects.toThrow(/no space/);
    await expect(deleteSpace(config, 'not/an/id')).rejects.toBeInstanceOf(AdminError);
    const after = SqliteAdapter.inDirectory(dataDir);
    expect(await after.getSpace(spaceId)).toBeNull();
    expect(await after.storedBytes(spaceId)).toBe(0);
    await after.close();
    expect(existsSync(path.join(dataDir, 'mend.sqlite'))).toBe(true);
  });
});
