import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAdapter } from '@mend/server';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple } from '../support/api.js';
import { fetchDocument } from '../support/clients.js';
import { startServer, startServerExpectingFailure, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const scratch: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mend-versions-'));
  scratch.push(dir);
  return dir;
}

async function userVersion(dir: string): Promise<number> {
  const storage = SqliteAdapter.inDirectory(dir);
  try {
    return storage.database.pragma('user_version', { simple: true }) as number;
  } finally {
    await storage.close();
  }
}

describe('the database schema version', () => {
  it('a server refuses to start on a database written by a newer version, and says why', async () => {
    const dir = await dataDir();
    const storage = SqliteAdapter.inDirectory(dir);
    await storage.migrate();
    const current = storage.database.pragma('user_version', { simple: true }) as number;
    storage.database.pragma(`user_version = ${current + 1}`);
    await storage.close();

    const failed = await startServerExpectingFailure({ dataDir: dir });
    expect(failed.exit.code).toBe(1);
    expect(failed.output).toContain(
      `Mend cannot start: The database at ${join(dir, 'mend.sqlite')} was written by a newer version of Mend`,
    );
    expect(await userVersion(dir)).toBe(current + 1);
  });

  it('three servers starting at once on a new data directory all serve the same spaces', async () => {
    const dir = await dataDir();
    const started = await Promise.all([0, 1, 2].map(() => startServer({ dataDir: dir })));
    servers.push(...started);
    const [first, second, third] = started as [MendServer, MendServer, MendServer];
    const couple = await createCouple(first, second);
    const doc = await fetchDocument(third, couple.spaceId, couple.b.token);
    expect(doc.getMap('space').size).toBeGreaterThan(0);
    await Promise.all(servers.splice(0).map((server) => server.dispose()));
    expect(await userVersion(dir)).toBeGreaterThan(0);
  });
});
