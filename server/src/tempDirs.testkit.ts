import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';

/**
 * Returns a function that makes a fresh directory in the system's temporary directory, named
 * `prefix` and a random tail; every directory it made is removed after each test. Call it once,
 * at the top of a test file: `const tempDir = tempDirsPerTest('mend-backup-');`.
 */
export function tempDirsPerTest(prefix: string): () => string {
  const dirs: string[] = [];

  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  return () => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}
