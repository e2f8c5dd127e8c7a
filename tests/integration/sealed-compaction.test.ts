/**
 * Client compaction and outbox pacing against the real server (docs/protocol.md, "Snapshots
 * (client compaction)"): a device writes a snapshot of the sequenced log, the server drops the
 * envelopes it covers, and a fresh device loads snapshot and tail; a long outbox goes out within
 * the socket's message budget.
 */
import { listAgreements, proposeAgreement, setDisplayName } from '@mend/model';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { reloadedDoc, sameSeq, SealedPage, sealedCouple } from '../support/sealedClient.js';
import { envelopeRows, openServerDatabase, snapshotRow } from '../support/sealedStorage.js';
import { startServer, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const pages: SealedPage[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

async function server(): Promise<MendServer> {
  const s = await startServer();
  servers.push(s);
  return s;
}

describe('sealed compaction and resend against the real server', () => {
  it('a snapshot replaces the envelopes it covers, and a fresh device loads it and the tail', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage } = await sealedCouple(s, { pages });
    samPage.close();
    const every = 20;
    alexPage.close();
    const writer = new SealedPage(s, alex, {
      doc: reloadedDoc(alexPage.doc),
      snapshotEvery: every,
    });
    pages.push(writer);
    await writer.until(() => writer.provider.synced, 'its sync');
    for (let i = 0; i < 45; i++) {
      const body = `${'agreed '.repeat(60)}${i}`;
      proposeAgreement(writer.doc, { title: `A${i}`, body, by: writer.partnerId, at: i });
    }
    await writer.settled();
    const head = writer.replica.since;
    // No snapshot is pending once one covers more than `head - every`.
    await writer.until(
      () => writer.snapshots.some((a) => a.coversSeq > head - every),
      'the last snapshot’s answer',
    );
    expect(writer.snapshots.length).toBeGreaterThan(1);
    expect(writer.snapshots.every((a) => a.stored)).toBe(true);
    const covered = Math.max(...writer.snapshots.map((a) => a.coversSeq));

    const db = openServerDatabase(s);
    let stored: number;
    try {
      const snapshot = snapshotRow(db, alex.membership.spaceId);
      expect(snapshot?.coversSeq).toBe(covered);
      const rows = envelopeRows(db, alex.membership.spaceId);
      expect(rows.map((r) => r.seq)).toEqual(
        Array.from({ length: head - covered }, (_, i) => covered + 1 + i),
      );
      stored = snapshot!.data.length + rows.reduce((n, r) => n + r.data.length, 0);
    } finally {
      db.close();
    }
    expect(stored).toBeLessThanOrEqual(1.5 * Y.encodeStateAsUpdate(writer.doc).length);

    const fresh = new SealedPage(s, sam);
    pages.push(fresh);
    await fresh.until(() => fresh.provider.synced && fresh.replica.since === head, 'its load');
    expect(fresh.receipts[0]).toEqual({ seq: covered, receipt: { kind: 'snapshot' } });
    expect(fresh.receipts.slice(1).map((r) => r.seq)).toEqual(
      Array.from({ length: head - covered }, (_, i) => covered + 1 + i),
    );
    expect(fresh.problems).toEqual([]);
    expect(fresh.tampers).toEqual([]);
    expect(listAgreements(fresh.doc)).toHaveLength(45);
    expect(fresh.doc.toJSON()).toEqual(writer.doc.toJSON());
  });

  it('an outbox of 1,000 envelopes drains on reconnect without the server closing the socket', async () => {
    const s = await server();
    const { alex, alexPage, samPage } = await sealedCouple(s, { pages });
    alex.network.down();
    await alexPage.until(() => alexPage.provider.status.kind === 'disconnected', 'offline');
    for (let i = 0; i < 1000; i++) {
      setDisplayName(alexPage.doc, { partnerId: alexPage.partnerId, displayName: `Alex ${i}` });
    }
    expect(alexPage.provider.waiting).toBe(1000);
    const from = alexPage.statuses.length;
    alex.network.up();
    await alexPage.until(
      () => alexPage.provider.synced && alexPage.provider.waiting === 0,
      'its outbox to drain',
      60_000,
    );
    const after = alexPage.statuses.slice(from);
    expect(after.filter((st) => st.kind === 'disconnected')).toEqual([]);
    await sameSeq([samPage, alexPage], 30_000);
    expect(samPage.doc.toJSON()).toEqual(alexPage.doc.toJSON());
  });
});
