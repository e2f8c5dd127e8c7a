import type { PartnerId, SpaceId } from '@mend/protocol';
import { MAX_PARTNERS } from '@mend/model';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { PostgresAdapter } from './PostgresAdapter.js';
import type { NewPartner, NewSpace } from './StorageAdapter.js';
import { defineDeviceLinkContract } from './deviceLinkContract.testkit.js';
import { defineDeviceStoreContract } from './deviceStoreContract.testkit.js';
import { defineReturnLinkContract } from './returnLinkContract.testkit.js';
import { defineEpochBoxContract } from './epochBoxContract.testkit.js';
import { definePlaintextSealContract } from './plaintextSealContract.testkit.js';
import { defineSealedLogContract } from './sealedLogContract.testkit.js';
import { defineSpaceDirectoryContract } from './spaceDirectoryContract.testkit.js';
import type { SealedEntry } from './SealedLog.js';
import { createSealedSpaceWithDevice, schemaPerRun } from './storageFixtures.testkit.js';
import { defineUpdateLogContract } from './updateLogContract.testkit.js';

const url = process.env.DATABASE_URL;
if (!url) console.log('PostgresAdapter tests skipped: set DATABASE_URL=postgres://… to run them');

describe.skipIf(!url)('PostgreSQL storage', () => {
  const schema = schemaPerRun(url, 'mend_test');

  const open = async (): Promise<PostgresAdapter> =>
    new PostgresAdapter({ connectionString: url ?? '', schema, maxConnections: 4 });
  defineUpdateLogContract('PostgreSQL', open);
  defineSpaceDirectoryContract('PostgreSQL', open);
  defineSealedLogContract('PostgreSQL', open);
  definePlaintextSealContract('PostgreSQL', open);
  defineDeviceLinkContract('PostgreSQL', open);
  defineReturnLinkContract('PostgreSQL', open);
  defineDeviceStoreContract('PostgreSQL', open);
  defineEpochBoxContract('PostgreSQL', open);

  describe('shared by several server processes', () => {
    const open: PostgresAdapter[] = [];
    function node(): PostgresAdapter {
      const adapter = new PostgresAdapter({
        connectionString: url ?? '',
        schema,
        maxConnections: 4,
      });
      open.push(adapter);
      return adapter;
    }

    beforeAll(async () => {
      await node().migrate();
    });

    afterAll(async () => {
      await Promise.all(open.map((a) => a.close()));
    });

    it('runs its migrations once when several processes start at the same moment', async () => {
      const fresh = `${schema}_m`;
      const starters = Array.from(
        { length: 5 },
        () =>
          new PostgresAdapter({ connectionString: url ?? '', schema: fresh, maxConnections: 1 }),
      );
      try {
        await Promise.all(starters.map((a) => a.migrate()));
        await starters[0]?.migrate();
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        try {
          const versions = await admin.query<{ version: number }>(
            `SELECT version FROM ${pg.escapeIdentifier(fresh)}.schema_migrations ORDER BY version`,
          );
          expect(versions.rows.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          const tables = await admin.query<{ table_name: string }>(
            `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
            [fresh],
          );
          expect(tables.rows.map((r) => r.table_name)).toEqual([
            'device_links',
            'devices',
            'doc_checks',
            'doc_snapshots',
            'doc_updates',
            'epoch_boxes',
            'partners',
            'recovery_challenges',
            'recovery_failures',
            'schema_migrations',
            'sealed_envelopes',
            'sealed_snapshots',
            'sealed_streams',
            'spaces',
          ]);
        } finally {
          await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(fresh)} CASCADE`);
          await admin.end();
        }
      } finally {
        await Promise.all(starters.map((a) => a.close()));
      }
    });

    it('refuses a schema name that is not a plain identifier', () => {
      expect(
        () => new PostgresAdapter({ connectionString: url ?? '', schema: 'x; DROP TABLE spaces' }),
      ).toThrow(/schema name/);
    });

    it('stores every update of two nodes appending to one space at once exactly once, in seq order', async () => {
      const [a, b] = [node(), node()];
      const spaceId = await createdSpace(a);
      const writes = Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).appendUpdate(spaceId, label(i)),
      );
      const seqs = await Promise.all(writes);
      expect(new Set(seqs).size).toBe(60);
      const stored = await a.loadDoc(spaceId);
      const storedSeqs = stored.updates.map((u) => u.seq);
      expect(storedSeqs).toEqual([...seqs].sort((x, y) => x - y));
      expect(stored.updates.map((u) => unlabel(u.data)).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 60 }, (_, i) => i),
      );
    });

    it('gives envelopes of two nodes appending to one sealed space at once one gapless order, each chain intact', async () => {
      const [a, b] = [node(), node()];
      const { space, first } = await createSealedSpaceWithDevice(a);
      const chains = [a, b].map((db, i) => ({
        db,
        entries: chainOf(first.signingKey, 10 + i, 15),
      }));
      const results = await Promise.all(
        chains.flatMap(({ db, entries }) =>
          entries.map((entry) => db.appendEnvelope(space.spaceId, entry)),
        ),
      );
      expect(results.every((r) => r.outcome === 'stored')).toBe(true);
      const stored = await a.loadEnvelopes(space.spaceId, 0);
      expect(stored.envelopes.map((e) => e.seq)).toEqual(
        Array.from({ length: 30 }, (_, i) => i + 1),
      );
      for (const { entries } of chains) {
        const order = entries.map((entry) =>
          stored.envelopes.findIndex((e) => Buffer.from(e.envelope).equals(entry.envelope)),
        );
        expect(order.every((at, i) => i === 0 || at > (order[i - 1] ?? 0))).toBe(true);
      }
    });

    it('lets exactly one of two joins on two nodes at once take the invite', async () => {
      const [a, b] = [node(), node()];
      const { space, first } = newSpace();
      await a.createSpace(space, first);
      const results = await Promise.all([
        a.addPartner(space.spaceId, newPartner(space.spaceId), 2),
        b.addPartner(space.spaceId, newPartner(space.spaceId), 3),
      ]);
      expect(results.sort()).toEqual(['added', 'invite-used']);
      expect(await a.listPartners(space.spaceId)).toHaveLength(MAX_PARTNERS);
    });

    it('loses nothing when one node compacts while two others append and a fourth loads', async () => {
      const [compactor, reader] = [node(), node()];
      const spaceId = await createdSpace(compactor);
      const perWriter = 60;
      const stored = new Set<number>();
      let writing = 2;

      // Two devices typing into one text through two nodes, so appends to the space overlap.
      const writer = async (w: number): Promise<void> => {
        const db = node();
        const device = new Y.Doc();
        const text = device.getText('t');
        for (let i = 0; i < perWriter; i++) {
          const item = i * 2 + w;
          const update = captureUpdate(device, () => text.insert(text.length, `${item},`));
          await db.appendUpdate(spaceId, update);
          stored.add(item);
        }
        writing--;
      };

      // Compaction the way a node does it: merge what is stored, then replace up to what it saw.
      const compactions = async (): Promise<number> => {
        let rounds = 0;
        while (writing > 0 || rounds === 0) {
          const doc = await compactor.loadDoc(spaceId);
          const last = doc.updates.at(-1);
          if (last) {
            const parts = [
              ...(doc.snapshot ? [doc.snapshot] : []),
              ...doc.updates.map((u) => u.data),
            ];
            await compactor.replaceWithSnapshot(spaceId, Y.mergeUpdates(parts), last.seq);
          }
          rounds++;
        }
        return rounds;
      };

      // Every load holds at least everything whose append had resolved before the load began.
      const loads = async (): Promise<number> => {
        let checked = 0;
        while (writing > 0) {
          const before = [...stored];
          const seen = items(await reader.loadDoc(spaceId));
          expect(before.filter((item) => !seen.has(item))).toEqual([]);
          checked++;
        }
        return checked;
      };

      const [, , rounds, checked] = await Promise.all([
        writer(0),
        writer(1),
        compactions(),
        loads(),
      ]);
      expect(rounds).toBeGreaterThan(1);
      expect(checked).toBeGreaterThan(1);
      const final = items(await reader.loadDoc(spaceId));
      expect([...final].sort((x, y) => x - y)).toEqual(
        Array.from({ length: perWriter * 2 }, (_, i) => i),
      );
    });
  });
});

function newSpaceId(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}

async function createdSpace(db: PostgresAdapter): Promise<SpaceId> {
  const { space, first } = newSpace();
  await db.createSpace(space, first);
  return space.spaceId;
}

function newPartner(spaceId: SpaceId): NewPartner {
  return {
    partnerId: `p_${randomBytes(8).toString('hex')}` as PartnerId,
    spaceId,
    displayName: 'Sam',
    tokenHash: new Uint8Array(randomBytes(32)),
    joinedAt: 1,
  };
}

function newSpace(): { space: NewSpace; first: NewPartner } {
  const spaceId = newSpaceId();
  return {
    space: { spaceId, name: null, createdAt: 1, inviteHash: new Uint8Array(randomBytes(32)) },
    first: newPartner(spaceId),
  };
}

function label(n: number): Uint8Array {
  return new TextEncoder().encode(`update-${n}`);
}

function unlabel(data: Uint8Array): number {
  return Number(new TextDecoder().decode(data).slice('update-'.length));
}

function captureUpdate(doc: Y.Doc, change: () => void): Uint8Array {
  let captured: Uint8Array | undefined;
  const keep = (update: Uint8Array): void => {
    captured = update;
  };
  doc.on('update', keep);
  change();
  doc.off('update', keep);
  if (!captured) throw new Error('the change produced no Yjs update');
  return captured;
}

/** The numbers written into the shared text by the stored snapshot and updates. */
function items(stored: {
  snapshot: Uint8Array | null;
  updates: { data: Uint8Array }[];
}): Set<number> {
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const u of stored.updates) Y.applyUpdate(doc, u.data);
  const numbers = doc
    .getText('t')
    .toString()
    .split(',')
    .filter((s) => s !== '')
    .map(Number);
  return new Set(numbers);
}

/** `count` chained entries of one stream, with random envelope bytes. */
function chainOf(author: Uint8Array, stream: number, count: number): SealedEntry[] {
  const entries: SealedEntry[] = [];
  let prev = new Uint8Array(32);
  for (let counter = 1; counter <= count; counter++) {
    const envelope = new Uint8Array(randomBytes(48));
    const hash = new Uint8Array(createHash('sha256').update(envelope).digest());
    entries.push({ author, stream, counter, prev, hash, envelope });
    prev = hash;
  }
  return entries;
}
