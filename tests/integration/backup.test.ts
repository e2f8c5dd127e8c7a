import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteAdapter } from '@mend/server';
import * as Y from 'yjs';
import { afterEach, describe, expect, it } from 'vitest';
import { createCouple } from '../support/api.js';
import { runAdmin } from '../support/admin.js';
import {
  containsAll,
  fetchDocument,
  openProvider,
  trackProviders,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { startServer, type MendServer } from '../support/server.js';
import { copyDoc, editsWithPrefix } from '../support/streams.js';

const servers: MendServer[] = [];
const providers = trackProviders();
const { track } = providers;
const scratch: string[] = [];

afterEach(async () => {
  providers.destroyAll();
  await Promise.all(servers.splice(0).map((server) => server.dispose()));
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Megabytes of content in the database before the server starts. */
const BALLAST_MEGABYTES = 64;

/**
 * A data directory whose database spans thousands of pages (one space nobody opens, holding
 * incompressible text): a copy that starts over whenever the server commits then has a long way
 * to go each time, as on a server that has been in use for years.
 */
async function dataDirWithBallast(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'mend-backup-data-'));
  scratch.push(dataDir);
  const storage = SqliteAdapter.inDirectory(dataDir);
  await storage.migrate();
  const spaceId = randomBytes(16).toString('base64url');
  const db = storage.database;
  db.transaction(() => {
    db.prepare(
      'INSERT INTO spaces (space_id, name, created_at, invite_hash) VALUES (?, ?, ?, ?)',
    ).run(spaceId, 'Ballast', Date.now(), randomBytes(32));
    const insert = db.prepare('INSERT INTO updates (space_id, data) VALUES (?, ?)');
    for (let i = 0; i < BALLAST_MEGABYTES; i++) {
      const doc = new Y.Doc();
      doc.getText('ballast').insert(0, randomBytes(768 * 1024).toString('base64'));
      insert.run(spaceId, Y.encodeStateAsUpdate(doc));
      doc.destroy();
    }
  })();
  await storage.close();
  return dataDir;
}

/** Sockets writing at once, each under the server's per-socket message rate. */
const WRITERS = 6;
const EDITS_PER_SECOND = 80;
/** A bound on the load, whatever happens: about a minute of writing. */
const MAX_EDITS_PER_WRITER = EDITS_PER_SECOND * 60;

/**
 * Several devices of partner A, each appending `<prefix><n>` at a steady pace until stopped: a
 * writer that commits every couple of milliseconds, as a busy server would.
 */
function steadyWriters(
  server: MendServer,
  spaceId: string,
  token: string,
): { ready: Promise<void>; stop: () => void; written: () => number } {
  let written = 0;
  const clients = Array.from({ length: WRITERS }, () =>
    track(openProvider(server, spaceId, token)),
  );
  const timers: NodeJS.Timeout[] = [];
  const ready = Promise.all(clients.map((c) => waitForSynced(c.provider))).then(() => {
    clients.forEach((client, index) => {
      let n = 0;
      const timer = setInterval(() => {
        if (n >= MAX_EDITS_PER_WRITER) return clearInterval(timer);
        client.doc.getArray<string>('edits').push([`w${index}:${n++}`]);
        written++;
      }, 1000 / EDITS_PER_SECOND);
      timers.push(timer);
    });
  });
  return { ready, stop: () => timers.forEach(clearInterval), written: () => written };
}

describe('backup while the server is writing', () => {
  it('finishes under a steady writer, and a restore of it serves everything the backup saw', async () => {
    const server = await startServer({ dataDir: await dataDirWithBallast() });
    servers.push(server);
    const couple = await createCouple(server);
    const b = track(openProvider(server, couple.spaceId, couple.b.token));
    await waitForSynced(b.provider);
    const writers = steadyWriters(server, couple.spaceId, couple.a.token);
    await writers.ready;

    try {
      // B only receives what the server stored first, so B's copy is a floor for the backup.
      await waitForDoc(b.doc, () => editsWithPrefix(b.doc).length >= 100, 'the first edits at B');
      const seenBeforeBackup = copyDoc(b.doc);
      const writtenBeforeBackup = writers.written();
      const backupDir = await mkdtemp(join(tmpdir(), 'mend-backup-'));
      scratch.push(backupDir);
      const file = join(backupDir, 'mend-backup.sqlite');
      const result = await runAdmin(['backup', file], server.dataDir, 45_000);
      // The writers kept going while the copy was being made.
      expect(writers.written()).toBeGreaterThan(writtenBeforeBackup);
      writers.stop();
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain('Backed up');
      // Readable by the server's user only, whatever the umask.
      expect((await stat(file)).mode & 0o777).toBe(0o600);

      const freshDir = join(backupDir, 'restored-data');
      const restored = await runAdmin(['restore', file], freshDir);
      expect(restored).toMatchObject({ code: 0, stderr: '' });
      const fresh = await startServer({ dataDir: freshDir });
      servers.push(fresh);
      const served = await fetchDocument(fresh, couple.spaceId, couple.b.token);
      expect(containsAll(served, seenBeforeBackup)).toBe(true);
      expect(editsWithPrefix(served).length).toBeGreaterThanOrEqual(
        editsWithPrefix(seenBeforeBackup).length,
      );
    } finally {
      writers.stop();
    }
  }, 90_000);
});
