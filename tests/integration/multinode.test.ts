/**
 * Two real server processes on two ports, sharing one PostgreSQL database and one Redis, the way
 * docs/deploy.md runs N nodes behind a load balancer.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { listPartners } from '@mend/model';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createCouple, createSpace, gauge, joinSpace, waitForGauge } from '../support/api.js';
import {
  containsAll,
  fetchDocument,
  openProvider,
  sameDocument,
  trackProviders,
  waitForAwareness,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { startServer, withTimeout, type MendServer } from '../support/server.js';
import { copyDoc, editsWithPrefix, STREAM_WINDOW, streamEdits } from '../support/streams.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
if (!databaseUrl || !redisUrl) {
  console.log('multi-node tests skipped: set DATABASE_URL and REDIS_URL to run them');
}

/** The Redis restart test runs a redis-server of its own (see PrivateRedis). */
const canRunRedis = spawnSync('redis-server', ['--version']).status === 0;
if (databaseUrl && redisUrl && !canRunRedis) {
  console.log(
    'multi-node Redis restart test skipped: no redis-server on PATH to run a private one',
  );
}

const nodes: MendServer[] = [];
const providers = trackProviders();
const { track } = providers;
const spaceIds: string[] = [];

afterEach(async () => {
  providers.destroyAll();
  await Promise.all(nodes.splice(0).map((node) => node.dispose()));
});

afterAll(async () => {
  if (!databaseUrl || spaceIds.length === 0) return;
  // Partners, updates and snapshots go with their space (ON DELETE CASCADE).
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('DELETE FROM spaces WHERE space_id = ANY($1)', [spaceIds]);
  } finally {
    await db.end();
  }
});

describe.skipIf(!databaseUrl || !redisUrl)(
  'two server processes sharing PostgreSQL and Redis',
  () => {
    it('a space created through node 1 is joined through node 2, and the partners edit live and see each other', async () => {
      const [node1, node2] = await startNodes(redisUrl ?? '');
      const created = await createSpace(node1, { displayName: 'Alex', name: 'Our space' });
      spaceIds.push(created.spaceId);
      const a = track(openProvider(node1, created.spaceId, created.token));
      await waitForSynced(a.provider);

      // Node 2 writes Sam into the document at the join; A, on node 1, sees Sam arrive.
      const joined = await joinSpace(node2, created.spaceId, {
        inviteCode: created.inviteCode,
        displayName: 'Sam',
      });
      expect(joined.spaceId).toBe(created.spaceId);
      await waitForDoc(
        a.doc,
        () => listPartners(a.doc).some((p) => p.displayName === 'Sam'),
        'Sam to appear at A',
      );

      const b = track(openProvider(node2, created.spaceId, joined.token));
      await waitForSynced(b.provider);
      expect(listPartners(b.doc).map((p) => p.displayName)).toEqual(
        expect.arrayContaining(['Alex', 'Sam']),
      );

      a.doc.getArray<string>('edits').push(['written by A on node 1']);
      await waitForDoc(
        b.doc,
        () => editsWithPrefix(b.doc).includes('written by A on node 1'),
        "A's edit at B",
      );
      b.doc.getArray<string>('edits').push(['written by B on node 2']);
      await waitForDoc(
        a.doc,
        () => editsWithPrefix(a.doc).includes('written by B on node 2'),
        "B's edit at A",
      );

      a.provider.awareness.setLocalStateField('user', {
        partnerId: created.partnerId,
        name: 'Alex',
      });
      b.provider.awareness.setLocalStateField('user', { partnerId: joined.partnerId, name: 'Sam' });
      await Promise.all([
        waitForAwareness(
          b.provider.awareness,
          () => names(b.provider).includes('Alex'),
          "A's presence at B",
        ),
        waitForAwareness(
          a.provider.awareness,
          () => names(a.provider).includes('Sam'),
          "B's presence at A",
        ),
      ]);
      expect(sameDocument(a.doc, b.doc)).toBe(true);
      // An update that arrived over Redis is applied but never stored again.
      expect(await duplicateStoredStructs(created.spaceId)).toEqual([]);
    });

    it('a room unloads on each node once that node’s last socket for the space leaves', async () => {
      const [node1, node2] = await startNodes(redisUrl ?? '');
      const couple = await createCouple(node1, node2);
      spaceIds.push(couple.spaceId);
      const a = track(openProvider(node1, couple.spaceId, couple.a.token));
      const b = track(openProvider(node2, couple.spaceId, couple.b.token));
      await Promise.all([waitForSynced(a.provider), waitForSynced(b.provider)]);
      expect(await gauge(node1, 'mend_loaded_rooms')).toBe(1);
      expect(await gauge(node2, 'mend_loaded_rooms')).toBe(1);

      a.provider.destroy();
      await waitForGauge(node1, 'mend_loaded_rooms', 0);
      // Node 2's room for the space stays while B is there.
      expect(await gauge(node2, 'mend_loaded_rooms')).toBe(1);
      b.provider.destroy();
      await waitForGauge(node2, 'mend_loaded_rooms', 0);
    });

    it('kill -9 of node 1 mid-stream: A moves to node 2, what B saw is stored once and nothing A holds is lost, and the dead node’s presence goes', async () => {
      const [node1, node2] = await startNodes(redisUrl ?? '');
      const couple = await createCouple(node1, node2);
      spaceIds.push(couple.spaceId);
      const a = track(openProvider(node1, couple.spaceId, couple.a.token));
      // A's second device, which never comes back: its presence must not linger at B.
      const tablet = track(openProvider(node1, couple.spaceId, couple.a.token));
      const b = track(openProvider(node2, couple.spaceId, couple.b.token));
      await Promise.all([a, tablet, b].map((c) => waitForSynced(c.provider)));
      tablet.provider.awareness.setLocalStateField('user', { name: 'Alex (tablet)' });
      await waitForAwareness(
        b.provider.awareness,
        () => names(b.provider).includes('Alex (tablet)'),
        "the tablet's presence at B",
      );

      const stream = await streamEdits(a.doc, b.doc, 'a', 40);
      await node1.kill();
      stream.stop();
      const seenByB = copyDoc(b.doc);
      expect(editsWithPrefix(seenByB, 'a').length).toBeGreaterThanOrEqual(40);

      // A's device keeps writing while it has no server, then reconnects to node 2.
      a.provider.destroy();
      tablet.provider.destroy();
      for (let i = 0; i < 10; i++) a.doc.getArray<string>('edits').push([`offline${i}`]);
      const aAgain = track(openProvider(node2, couple.spaceId, couple.a.token, { doc: a.doc }));
      await waitForSynced(aAgain.provider);
      await waitForDoc(
        [a.doc, b.doc],
        () => containsAll(b.doc, a.doc) && containsAll(a.doc, b.doc),
        'A and B to converge through node 2',
      );

      // y-protocols' presence timeout (30 s) is the latest the dead node's sockets may linger.
      await waitForAwareness(
        b.provider.awareness,
        () => !names(b.provider).includes('Alex (tablet)'),
        "the dead node's presence to leave B",
        40_000,
      );

      const node1Again = await node1.restart();
      nodes.push(node1Again);
      const stored = await fetchDocument(node1Again, couple.spaceId, couple.b.token);
      expect(containsAll(stored, seenByB)).toBe(true);
      expect(sameDocument(stored, a.doc)).toBe(true);
      const storedEdits = editsWithPrefix(stored);
      expect(new Set(storedEdits).size).toBe(storedEdits.length);
      expect(editsWithPrefix(stored, 'a')).toHaveLength(stream.written());
      expect(editsWithPrefix(stored, 'offline')).toHaveLength(10);
      // What B had seen is stored exactly once. An edit node 1 stored but died before relaying
      // may be stored again when A's device hands it to node 2 (node 2 cannot know node 1 had
      // it); Yjs applies it once and the next compaction folds the copies together.
      const seenVector = Y.decodeStateVector(Y.encodeStateVector(seenByB));
      const duplicates = await duplicateStoredStructs(couple.spaceId);
      expect(duplicates.filter((d) => d.clock < (seenVector.get(d.client) ?? 0))).toEqual([]);
      expect(duplicates.length).toBeLessThanOrEqual(STREAM_WINDOW);
    }, 90_000);

    it.skipIf(!canRunRedis)(
      'Redis restarted during a session: both nodes keep serving, recover and converge with nothing lost',
      async () => {
        const redis = await PrivateRedis.start();
        try {
          const [node1, node2] = await startNodes(redis.url);
          const couple = await createCouple(node1, node2);
          spaceIds.push(couple.spaceId);
          const a = track(openProvider(node1, couple.spaceId, couple.a.token));
          const b = track(openProvider(node2, couple.spaceId, couple.b.token));
          const bPhone = track(openProvider(node2, couple.spaceId, couple.b.token));
          await Promise.all([a, b, bPhone].map((c) => waitForSynced(c.provider)));
          a.doc.getArray<string>('edits').push(['before']);
          await waitForDoc(
            b.doc,
            () => editsWithPrefix(b.doc).includes('before'),
            'the first edit at B',
          );

          await redis.stop();
          for (let i = 0; i < 5; i++) a.doc.getArray<string>('edits').push([`a-outage${i}`]);
          for (let i = 0; i < 5; i++) b.doc.getArray<string>('edits').push([`b-outage${i}`]);
          // Sockets on the same node still reach each other without Redis.
          await waitForDoc(
            bPhone.doc,
            () => editsWithPrefix(bPhone.doc).includes('b-outage4'),
            "B's edits at B's other device during the outage",
          );

          await redis.restart();
          await waitForDoc(
            [a.doc, b.doc],
            () => containsAll(a.doc, b.doc) && containsAll(b.doc, a.doc),
            'A and B to converge once Redis is back',
            20_000,
          );
          for (const node of [node1, node2]) {
            expect(node.logs.some((l) => String(l.msg).startsWith('redis is back'))).toBe(true);
          }

          a.doc.getArray<string>('edits').push(['after']);
          await waitForDoc(
            b.doc,
            () => editsWithPrefix(b.doc).includes('after'),
            'a live edit after recovery',
          );

          const stored = await fetchDocument(node1, couple.spaceId, couple.b.token);
          expect(sameDocument(stored, a.doc)).toBe(true);
          const storedEdits = editsWithPrefix(stored);
          expect(new Set(storedEdits).size).toBe(storedEdits.length);
          expect(storedEdits.filter((e) => e.includes('outage'))).toHaveLength(10);
          expect(await duplicateStoredStructs(couple.spaceId)).toEqual([]);
        } finally {
          await redis.stop();
        }
      },
    );
  },
);

async function startNodes(redis: string): Promise<[MendServer, MendServer]> {
  const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis };
  const started = await Promise.all([startServer({ env }), startServer({ env })]);
  nodes.push(...started);
  return started;
}

function names(provider: WebsocketProvider): string[] {
  const result: string[] = [];
  for (const [clientId, state] of provider.awareness.getStates()) {
    if (clientId === provider.awareness.clientID) continue;
    const user: unknown = (state as { user?: unknown }).user;
    if (
      typeof user === 'object' &&
      user !== null &&
      'name' in user &&
      typeof user.name === 'string'
    ) {
      result.push(user.name);
    }
  }
  return result;
}

/**
 * Structs stored more than once across the space's snapshot and update rows. Yjs hides such a
 * copy when loading; this looks at what PostgreSQL actually holds.
 */
async function duplicateStoredStructs(
  spaceId: string,
): Promise<{ client: number; clock: number }[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  let rows: { data: Buffer }[];
  try {
    const result = await db.query<{ data: Buffer }>(
      `SELECT data FROM doc_snapshots WHERE space_id = $1
       UNION ALL SELECT data FROM doc_updates WHERE space_id = $1`,
      [spaceId],
    );
    rows = result.rows;
  } finally {
    await db.end();
  }
  const ranges: { client: number; clock: number; length: number }[] = [];
  for (const row of rows) {
    for (const struct of Y.decodeUpdate(new Uint8Array(row.data)).structs) {
      if (struct instanceof Y.Skip) continue;
      ranges.push({ client: struct.id.client, clock: struct.id.clock, length: struct.length });
    }
  }
  ranges.sort((x, y) => x.client - y.client || x.clock - y.clock);
  const duplicates: { client: number; clock: number }[] = [];
  for (let i = 1; i < ranges.length; i++) {
    const [prev, next] = [ranges[i - 1], ranges[i]];
    if (prev && next && prev.client === next.client && next.clock < prev.clock + prev.length) {
      duplicates.push({ client: next.client, clock: next.clock });
    }
  }
  return duplicates;
}

/**
 * A redis-server of this test's own, on a free port: restarting the shared one would cut off
 * every other suite using Redis at the same moment.
 */
class PrivateRedis {
  readonly #port: number;
  #process: ChildProcess | null = null;

  private constructor(port: number) {
    this.#port = port;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  /** Starts redis-server and resolves once it accepts connections. */
  async restart(): Promise<void> {
    const child = spawn(
      'redis-server',
      ['--port', String(this.#port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#process = child;
    let output = '';
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ready to accept connections')) resolve();
        });
        child.once('error', reject);
        child.once('exit', (code) =>
          reject(new Error(`redis-server exited (${code}):\n${output}`)),
        );
      }),
      10_000,
      'redis-server did not start',
    );
  }

  /** Stops redis-server the way a crash would, and resolves once it is gone. */
  async stop(): Promise<void> {
    const child = this.#process;
    this.#process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address !== 'string') resolve(address.port);
        else reject(new Error('no free port'));
      });
    });
  });
}
