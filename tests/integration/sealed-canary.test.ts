/**
 * The central promise of a sealed space, checked where an operator would look: a canary sentence
 * both partners type into every kind of content (space name, display names, an agreement, a
 * question and its answer, check-in notes, their presence) is nowhere in what the server keeps
 * or says: its SQLite files (WAL included), a backup, its logs and metrics; with PostgreSQL and
 * Redis, every row of every table and every message on Redis.
 */
import {
  answerQuestion,
  askQuestion,
  checkIn,
  getSpace,
  listQuestions,
  proposeAgreement,
} from '@mend/model';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { runAdmin } from '../support/admin.js';
import { metrics } from '../support/api.js';
import {
  sameSeq,
  sealedCouple,
  type SealedCoupleOf,
  type SealedPage,
} from '../support/sealedClient.js';
import { sqliteFile } from '../support/sealedStorage.js';
import { startServer, type MendServer } from '../support/server.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

const servers: MendServer[] = [];
const pages: SealedPage[] = [];
const scratch: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(scratch.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Random per run, so no earlier run, fixture or other test can have left it anywhere. */
function newCanary(): { text: string; bytes: Buffer } {
  const text = `canary-${randomBytes(12).toString('hex')} the affair ended in May`;
  return { text, bytes: Buffer.from(text, 'utf8') };
}

/** Both partners type the canary into everything they can, and wait until both hold it all. */
async function typeCanaryEverywhere(
  canary: string,
  server: MendServer,
  joinThrough: MendServer = server,
): Promise<SealedCoupleOf> {
  const couple = await sealedCouple(server, {
    names: { space: `Us ${canary}`, alex: `A ${canary}`, sam: `S ${canary}` },
    joinThrough,
    pages,
  });
  const { alexPage, samPage } = couple;
  const alex = alexPage.partnerId;
  const sam = samPage.partnerId;
  const at = Date.now();
  alexPage.awareness.setLocalStateField('user', { name: canary });
  samPage.awareness.setLocalStateField('user', { name: canary });
  proposeAgreement(alexPage.doc, { title: canary, body: `I promise: ${canary}`, by: alex, at });
  checkIn(alexPage.doc, {
    partnerId: alex,
    date: '2026-12-01',
    safety: 3,
    state: 'alert',
    note: canary,
    at,
  });
  checkIn(samPage.doc, {
    partnerId: sam,
    date: '2026-12-01',
    safety: 5,
    state: 'calm',
    note: canary,
    at,
  });
  const question = askQuestion(samPage.doc, { text: `Why? ${canary}`, by: sam, at });
  await alexPage.until(() => listQuestions(alexPage.doc).length === 1, 'Sam’s question');
  answerQuestion(alexPage.doc, { questionId: question, text: canary, by: alex, at: at + 1 });
  await alexPage.settled();
  await samPage.settled();
  await sameSeq([samPage, alexPage]);
  await samPage.until(
    () => samPage.awareness.getStates().get(alexPage.doc.clientID)?.['user']?.name === canary,
    'Alex’s presence',
  );
  // The devices hold it in the clear: what is searched for below is there to be found.
  for (const page of [alexPage, samPage]) {
    expect(Buffer.from(Y.encodeStateAsUpdate(page.doc)).includes(Buffer.from(canary))).toBe(true);
  }
  expect(getSpace(samPage.doc)?.name).toBe(`Us ${canary}`);
  expect(samPage.problems).toEqual([]);
  expect(alexPage.problems).toEqual([]);
  return couple;
}

/** Every file under `dir`, with its bytes. */
async function filesUnder(dir: string): Promise<{ path: string; bytes: Buffer }[]> {
  const out: { path: string; bytes: Buffer }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, bytes: await readFile(path) });
  }
  return out;
}

/** Where in `places` the canary occurs (their names), so a failure says where. */
function holding(places: { name: string; bytes: Buffer }[], canary: Buffer): string[] {
  return places.filter((p) => p.bytes.includes(canary)).map((p) => p.name);
}

/** What a server said and counts: its whole output and its metrics page. */
async function serverTalk(server: MendServer): Promise<{ name: string; bytes: Buffer }[]> {
  const page = await metrics(server);
  expect(page.status).toBe(200);
  return [
    { name: `output of :${server.port}`, bytes: Buffer.from(server.output.join('\n')) },
    { name: `metrics of :${server.port}`, bytes: Buffer.from(page.text) },
  ];
}

describe('a canary typed in a sealed space', () => {
  it('is in no SQLite file, backup, log line or metric, and the space leaves no name or plaintext table behind', async () => {
    const canary = newCanary();
    const server = await startServer({ env: { MEND_LOG_LEVEL: 'trace' } });
    servers.push(server);
    const { spaceId } = await typeCanaryEverywhere(canary.text, server);

    const backupDir = await mkdtemp(join(tmpdir(), 'mend-canary-'));
    scratch.push(backupDir);
    const backup = join(backupDir, 'backup.sqlite');
    expect((await runAdmin(['backup', backup], server.dataDir)).code).toBe(0);

    const files = await filesUnder(server.dataDir);
    expect(files.map((f) => f.path)).toContain(sqliteFile(server));
    expect(files.map((f) => f.path)).toContain(`${sqliteFile(server)}-wal`);
    const places = [
      ...files.map((f) => ({ name: f.path, bytes: f.bytes })),
      { name: 'the backup', bytes: await readFile(backup) },
      ...(await serverTalk(server)),
    ];
    // The search finds what is there: the space's id, which the server must know.
    const withId = holding(places, Buffer.from(spaceId));
    expect(withId).toContain('the backup');
    expect(withId.filter((name) => name.startsWith(sqliteFile(server)))).not.toEqual([]);
    expect(holding(places, canary.bytes)).toEqual([]);

    // What the space left in the server's tables, read from the backup (the same database).
    const db = new Database(backup, { readonly: true });
    try {
      const rowsOf = (table: string) =>
        (
          db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE space_id = ?`).get(spaceId) as {
            n: number;
          }
        ).n;
      const tables = ['spaces', 'partners', 'doc_checks', 'updates', 'devices'];
      tables.push('sealed_envelopes', 'sealed_streams', 'sealed_snapshots');
      const counts = Object.fromEntries(tables.map((t) => [t, rowsOf(t)]));
      expect(counts).toEqual({
        spaces: 1,
        partners: 0,
        doc_checks: 0,
        updates: 0,
        devices: 2,
        sealed_envelopes: expect.any(Number),
        sealed_streams: 2,
        sealed_snapshots: 0,
      });
      expect(counts['sealed_envelopes']).toBeGreaterThan(5);
      expect(
        db.prepare('SELECT name, sealed, welcome FROM spaces WHERE space_id = ?').get(spaceId),
      ).toEqual({ name: null, sealed: 1, welcome: null });
    } finally {
      db.close();
    }
  });
});

describe.skipIf(!databaseUrl || !redisUrl)('a canary typed in a sealed space on two nodes', () => {
  it('is in no PostgreSQL row, Redis message, log line or metric', async () => {
    const canary = newCanary();
    const traffic: { name: string; bytes: Buffer }[] = [];
    const subscriber = new Redis(redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 1 });
    cleanups.push(async () => void subscriber.disconnect());
    await subscriber.connect();
    subscriber.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, message: Buffer) => {
      traffic.push({ name: `redis ${channel.toString()}`, bytes: message });
    });
    await subscriber.psubscribe('*');

    const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, MEND_LOG_LEVEL: 'trace' };
    const nodes = await Promise.all([startServer({ env }), startServer({ env })]);
    servers.push(...nodes);
    const { spaceId } = await typeCanaryEverywhere(canary.text, nodes[0], nodes[1]);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    cleanups.push(async () => {
      // Devices, envelopes and stream heads go with their space (ON DELETE CASCADE).
      await db.query('DELETE FROM spaces WHERE space_id = $1', [spaceId]);
      await db.end();
    });

    // Sam's edits reached Alex through Redis: the recording saw the space's traffic.
    expect(traffic.filter((t) => t.name.includes(spaceId)).length).toBeGreaterThan(5);
    const rows = await everyRow(db);
    expect(
      rows.filter((r) => r.name.startsWith('sealed_envelopes') && r.text.includes(spaceId)),
    ).not.toEqual([]);
    const places = [
      ...traffic,
      ...rows.map((r) => ({ name: r.name, bytes: r.bytes })),
      ...(await serverTalk(nodes[0])),
      ...(await serverTalk(nodes[1])),
      ...(await filesUnder(nodes[0].dataDir)).map((f) => ({ name: f.path, bytes: f.bytes })),
    ];
    expect(holding(places, Buffer.from(spaceId))).toContain('spaces row');
    expect(holding(places, canary.bytes)).toEqual([]);
  });
});

/**
 * Every row of every table in the database, each as its values' bytes (bytea as it is, text as
 * UTF-8, anything else as JSON) and as text, named by table.
 */
async function everyRow(db: pg.Client): Promise<{ name: string; bytes: Buffer; text: string }[]> {
  const tables = await db.query<{ schema: string; table: string }>(
    `SELECT table_schema AS schema, table_name AS table FROM information_schema.tables
     WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  expect(tables.rows.map((t) => t.table)).toContain('sealed_envelopes');
  const out: { name: string; bytes: Buffer; text: string }[] = [];
  for (const { schema, table } of tables.rows) {
    const name = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
    const result = await db.query<Record<string, unknown>>(`SELECT * FROM ${name}`);
    for (const row of result.rows) {
      const parts = Object.values(row).map((value) =>
        Buffer.isBuffer(value)
          ? value
          : Buffer.from(typeof value === 'string' ? value : (JSON.stringify(value) ?? '')),
      );
      const bytes = Buffer.concat(parts);
      out.push({ name: `${table} row`, bytes, text: bytes.toString('latin1') });
    }
  }
  return out;
}
