/**
 * The set-up shared by integration files that use one server for their single-node tests and,
 * with PostgreSQL and Redis, pairs of nodes sharing both for their multi-node tests. Calling
 * `useServerAndNodes()` at a file's top level registers the hooks: the server starts before all
 * tests; nodes are disposed after each test; after all tests the kept sockets close, the server
 * goes, and the spaces named in `spaceIds` are deleted from PostgreSQL (their devices, updates,
 * envelopes, challenges and failures go with them: ON DELETE CASCADE).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startServer, type MendServer } from './server.js';

export const databaseUrl = process.env.DATABASE_URL;
export const redisUrl = process.env.REDIS_URL;

export interface ServerAndNodes {
  /** The file's single-node server; started in `beforeAll`. */
  readonly server: MendServer;
  /** Sockets to close after all tests. */
  readonly sockets: { close(): void }[];
  /** Spaces created on PostgreSQL, to delete after all tests. */
  readonly spaceIds: string[];
  /** Two nodes on DATABASE_URL and REDIS_URL, disposed after the test. */
  startNodes(): Promise<[MendServer, MendServer]>;
  /**
   * Restarts the file's server on its data directory; `server` is the new process from then on,
   * so the one disposed after all tests is the one running (a handle `restart` replaced owns
   * nothing any more).
   */
  restartServer(): Promise<MendServer>;
}

export function useServerAndNodes(): ServerAndNodes {
  let server: MendServer | undefined;
  const sockets: { close(): void }[] = [];
  const nodes: MendServer[] = [];
  const spaceIds: string[] = [];

  beforeAll(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.dispose()));
  });

  afterAll(async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await server?.dispose();
    if (!databaseUrl || spaceIds.length === 0) return;
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      await db.query('DELETE FROM spaces WHERE space_id = ANY($1)', [spaceIds]);
    } finally {
      await db.end();
    }
  });

  return {
    get server() {
      if (!server) throw new Error('the server starts in beforeAll: use it inside a test');
      return server;
    },
    sockets,
    spaceIds,
    async restartServer() {
      if (!server) throw new Error('the server starts in beforeAll: use it inside a test');
      server = await server.restart();
      return server;
    },
    async startNodes() {
      const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
      const started = await Promise.all([startServer({ env }), startServer({ env })]);
      nodes.push(...started);
      return started;
    },
  };
}
