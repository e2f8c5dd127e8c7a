import { randomBytes } from 'node:crypto';
import type { PartnerId, SpaceId } from '@mend/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresAdapter } from './PostgresAdapter.js';
import { NewerSchemaError } from './schemaVersion.js';
import { POSTGRES_MIGRATIONS } from './postgresMigrations.js';

const url = process.env.DATABASE_URL;
if (!url)
  console.log('PostgreSQL migration tests skipped: set DATABASE_URL=postgres://… to run them');

/**
 * Migration 1 exactly as main at 4ef9209 released it: a fixture, deliberately a copy, so a later
 * edit of the adapter's list cannot hide a broken upgrade.
 */
const RELEASED_MIGRATION_1 = `CREATE TABLE spaces (
     space_id       text PRIMARY KEY,
     name           text,
     created_at     bigint NOT NULL,
     invite_hash    bytea  NOT NULL,
     invite_used_at bigint
   );
   CREATE TABLE partners (
     partner_id   text PRIMARY KEY,
     space_id     text   NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     display_name text   NOT NULL,
     token_hash   bytea  NOT NULL UNIQUE,
     joined_at    bigint NOT NULL
   );
   CREATE INDEX partners_space_id ON partners (space_id);
   CREATE TABLE doc_updates (
     seq      bigserial PRIMARY KEY,
     space_id text  NOT NULL REFERENCES spaces (space_id) ON DELETE CASCADE,
     data     bytea NOT NULL
   );
   CREATE INDEX doc_updates_space_seq ON doc_updates (space_id, seq);
   CREATE TABLE doc_snapshots (
     space_id  text   PRIMARY KEY REFERENCES spaces (space_id) ON DELETE CASCADE,
     data      bytea  NOT NULL,
     up_to_seq bigint NOT NULL
   );`;

/** Schemas of their own per run, so parallel runs (and other engineers' tests) never meet. */
const prefix = `mend_migr_${process.pid}_${randomBytes(4).toString('hex')}`;
const spaceId = 'c3BhY2Utb2YtdG9kYXktMQ' as SpaceId;
const partnerId = 'cGFydG5lci1hLXRvZGF5MQ' as PartnerId;

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText('notes').insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

describe.skipIf(!url)('PostgreSQL schema versions', () => {
  let admin: pg.Client;
  const schemas: string[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });

  afterAll(async () => {
    for (const schema of schemas) {
      await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    }
    await admin.end();
  });

  /** A schema at version 1, with data, as a server released before migration 2 left it. */
  async function schemaAtVersion1(
    name: string,
  ): Promise<{ snapshot: Uint8Array; later: Uint8Array }> {
    const schema = `${prefix}_${name}`;
    schemas.push(schema);
    const s = pg.escapeIdentifier(schema);
    const snapshot = textUpdate('written at version 1');
    const later = textUpdate('and after the snapshot');
    await admin.query('BEGIN');
    await admin.query(`CREATE SCHEMA ${s}`);
    await admin.query(`SET LOCAL search_path TO ${s}`);
    await admin.query(RELEASED_MIGRATION_1);
    await admin.query(
      `CREATE TABLE schema_migrations (
         version    integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       );
       INSERT INTO schema_migrations (version) VALUES (1);`,
    );
    await admin.query(
      `INSERT INTO spaces (space_id, name, created_at, invite_hash, invite_used_at)
       VALUES ($1, 'Our space', 1700000000000, $2, NULL)`,
      [spaceId, Buffer.alloc(32, 1)],
    );
    await admin.query(
      `INSERT INTO partners (partner_id, space_id, display_name, token_hash, joined_at)
       VALUES ($1, $2, 'Robin', $3, 1700000000000)`,
      [partnerId, spaceId, Buffer.alloc(32, 2)],
    );
    await admin.query(`INSERT INTO doc_snapshots (space_id, data, up_to_seq) VALUES ($1, $2, 7)`, [
      spaceId,
      Buffer.from(snapshot),
    ]);
    await admin.query(`SELECT setval('doc_updates_seq_seq', 7)`);
    await admin.query(`INSERT INTO doc_updates (space_id, data) VALUES ($1, $2)`, [
      spaceId,
      Buffer.from(later),
    ]);
    await admin.query('COMMIT');
    return { snapshot, later };
  }

  function adapter(name: string): PostgresAdapter {
    return new PostgresAdapter({
      connectionString: url ?? '',
      schema: `${prefix}_${name}`,
      maxConnections: 2,
    });
  }

  it('upgrades a schema written by an earlier version and reads its data back', async () => {
    const { snapshot, later } = await schemaAtVersion1('upgrade');
    const storage = adapter('upgrade');
    try {
      await storage.migrate();
      const versions = await admin.query<{ version: number }>(
        `SELECT version FROM ${pg.escapeIdentifier(`${prefix}_upgrade`)}.schema_migrations ORDER BY version`,
      );
      expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await storage.getSpace(spaceId)).toMatchObject({
        name: 'Our space',
        inviteUsedAt: null,
      });
      expect((await storage.listPartners(spaceId)).map((p) => p.displayName)).toEqual(['Robin']);
      expect(await storage.loadDoc(spaceId)).toEqual({
        snapshot,
        updates: [{ seq: 8, data: later }],
      });
      // Migration 2's table works with the partner that was already there.
      await storage.recordDocCheck(spaceId, partnerId, 4);
      expect(await storage.getDocCheck(spaceId, partnerId)).toBe(4);
    } finally {
      await storage.close();
    }
  });

  it('makes the device links from before return links existed links of their own seat', async () => {
    await schemaAtVersion1('links');
    const s = pg.escapeIdentifier(`${prefix}_links`);
    const beforeReturnLinks = POSTGRES_MIGRATIONS.length - 1;
    await admin.query('BEGIN');
    await admin.query(`SET LOCAL search_path TO ${s}`);
    for (let version = 2; version <= beforeReturnLinks; version++) {
      await admin.query(POSTGRES_MIGRATIONS[version - 1] ?? '');
      await admin.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
    }
    await admin.query(
      `INSERT INTO device_links
         (link_id, space_id, partner_id, code_hash, created_at, expires_at, state)
       VALUES ('link', $1, $2, $3, 1, 2, 'open')`,
      [spaceId, partnerId, Buffer.alloc(32)],
    );
    await admin.query('COMMIT');
    const storage = adapter('links');
    try {
      await storage.migrate();
    } finally {
      await storage.close();
    }
    const links = await admin.query(`SELECT partner_id, target_partner_id FROM ${s}.device_links`);
    expect(links.rows).toEqual([{ partner_id: partnerId, target_partner_id: partnerId }]);
  });

  it('refuses a schema written by a newer version, saying so plainly, and changes nothing', async () => {
    await schemaAtVersion1('newer');
    const s = pg.escapeIdentifier(`${prefix}_newer`);
    // One version past what this code knows, whatever that is.
    const newer = POSTGRES_MIGRATIONS.length + 1;
    const versions = Array.from({ length: newer - 1 }, (_, i) => `(${i + 2})`).join(', ');
    await admin.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ${versions}`);
    const storage = adapter('newer');
    try {
      const refused = storage.migrate();
      await expect(refused).rejects.toBeInstanceOf(NewerSchemaError);
      await expect(refused).rejects.toThrow(
        `The PostgreSQL schema "${prefix}_newer" was written by a newer version of Mend (schema version ${newer}`,
      );
    } finally {
      await storage.close();
    }
    const tables = await admin.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [`${prefix}_newer`],
    );
    expect(tables.rows.map((r) => r.table_name)).not.toContain('doc_checks');
  });
});
