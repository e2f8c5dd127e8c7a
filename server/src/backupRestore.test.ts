import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backup, restore } from './adminCommands.js';
import { SqliteAdapter } from './storage/SqliteAdapter.js';
import { testConfig } from './testConfig.testkit.js';
import { tempDirsPerTest } from './tempDirs.testkit.js';
import { storedSpaceInDirectory } from './testSpaces.testkit.js';

const tempDir = tempDirsPerTest('mend-backup-');

describe('backup of a stopped server', () => {
  it('leaves the data directory as it found it, so a restore can follow at once', async () => {
    const dataDir = tempDir();
    const spaceId = await storedSpaceInDirectory(dataDir, new Uint8Array([9]));
    const config = testConfig({ dataDir });
    const file = path.join(tempDir(), 'backup.sqlite');

    await backup(config, file);
    expect(readdirSync(dataDir)).toEqual(['mend.sqlite']);
    expect(await restore(config, file)).toContain('Restored');
    const restored = SqliteAdapter.inDirectory(dataDir);
    expect((await restored.loadDoc(spaceId)).updates.map((u) => [...u.data])).toEqual([[9]]);
    await restored.close();
  });
});
