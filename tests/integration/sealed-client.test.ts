/**
 * The sealed sync client (`@mend/sealed`: SealedReplica, SealedProvider, createSealedSpace and
 * joinSealedSpace) against the real server over real sockets: two partners co-editing live, a
 * device offline and reloaded with its outbox, a second provider on one document, and sealed
 * presence. Tampering is in sealed-tamper.test.ts, the canary in sealed-canary.test.ts.
 */
import {
  acceptAgreement,
  agreementTexts,
  answerQuestion,
  askQuestion,
  checkIn,
  getSpace,
  listAgreements,
  listCheckins,
  listPartners,
  listQuestions,
  Origin,
  proposeAgreement,
  renameSpace,
  setDisplayName,
} from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { Outbox } from '@mend/sealed';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadedDoc, sameSeq, SealedPage, sealedCouple } from '../support/sealedClient.js';
import { envelopeRows, openServerDatabase } from '../support/sealedStorage.js';
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

/** Each seq once and in order, each applied (or a member statement), nothing told as tampering. */
function expectEveryReceiptTaken(page: SealedPage): void {
  expect(page.receipts.map((r) => r.seq)).toEqual(page.receipts.map((_, i) => i + 1));
  expect(page.receipts.length).toBe(page.replica.since);
  expect(new Set(page.receipts.map((r) => r.receipt.kind))).toEqual(new Set(['applied', 'member']));
  expect(page.replica.setAside).toEqual([]);
  expect(page.tampers).toEqual([]);
}

describe('the sealed client against the real server', () => {
  it('two partners converge live, every envelope applied on both sides', async () => {
    const s = await server();
    const { alexPage, samPage } = await sealedCouple(s, { pages });
    const alex = alexPage.partnerId;
    const sam = samPage.partnerId;
    const at = Date.now();
    checkIn(alexPage.doc, {
      partnerId: alex,
      date: '2026-12-01',
      safety: 7,
      state: 'calm',
      note: 'ok',
      at,
    });
    const agreement = proposeAgreement(samPage.doc, {
      title: 'Honesty',
      body: 'I tell you first.',
      by: sam,
      at,
    });
    await alexPage.until(() => listAgreements(alexPage.doc).length === 1, 'Sam’s agreement');
    const fingerprint = listAgreements(alexPage.doc)[0]!.fingerprint;
    acceptAgreement(alexPage.doc, {
      agreementId: agreement,
      partnerId: alex,
      fingerprint,
      at: at + 1,
    });
    setDisplayName(samPage.doc, { partnerId: sam, displayName: 'Samuel' });
    renameSpace(alexPage.doc, { name: 'Us', by: alex });
    const question = askQuestion(alexPage.doc, { text: 'Where were you?', by: alex, at });
    await samPage.until(() => listQuestions(samPage.doc).length === 1, 'Alex’s question');
    answerQuestion(samPage.doc, { questionId: question, text: 'At work.', by: sam, at: at + 2 });
    await alexPage.settled();
    await samPage.settled();
    await sameSeq([alexPage, samPage]);
    expect(alexPage.doc.toJSON()).toEqual(samPage.doc.toJSON());
    expect(getSpace(samPage.doc)?.name).toBe('Us');
    expect(listPartners(alexPage.doc).map((p) => p.displayName)).toEqual(['Alex', 'Samuel']);
    expect(listCheckins(samPage.doc).map((c) => ('note' in c ? c.note : null))).toEqual(['ok']);
    expect(listQuestions(alexPage.doc)[0]?.thread.map((a) => a.text)).toEqual(['At work.']);
    expectEveryReceiptTaken(alexPage);
    expectEveryReceiptTaken(samPage);
  });

  it('two partners typing into one agreement at once end with the same text, nothing set aside', async () => {
    const s = await server();
    const { alexPage, samPage } = await sealedCouple(s, { pages });
    const by = alexPage.partnerId;
    const id = proposeAgreement(alexPage.doc, { title: 'T', body: 'start', by, at: Date.now() });
    await samPage.until(() => listAgreements(samPage.doc).length === 1, 'the agreement');
    const atAlex = agreementTexts(alexPage.doc, id).body;
    const atSam = agreementTexts(samPage.doc, id).body;
    for (let i = 0; i < 40; i++) {
      alexPage.doc.transact(() => atAlex.insert(atAlex.length >> 1, 'a'), Origin.liveEdit);
      samPage.doc.transact(() => atSam.insert(atSam.length, 'b'), Origin.liveEdit);
      if (i % 7 === 0) samPage.doc.transact(() => atSam.delete(1, 2), Origin.liveEdit);
      if (i % 5 === 0) alexPage.doc.transact(() => atAlex.delete(0, 1), Origin.liveEdit);
      // Some keystrokes cross on the wire, some arrive before the next one is typed.
      if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await alexPage.settled();
    await samPage.settled();
    await sameSeq([alexPage, samPage]);
    expect(atAlex.toString()).toBe(atSam.toString());
    expect(atAlex.toString()).toMatch(/a/);
    expectEveryReceiptTaken(alexPage);
    expectEveryReceiptTaken(samPage);
  });

  it('a new device loads a space bigger than one backlog part', async () => {
    const s = await server();
    const { alex, alexPage } = await sealedCouple(s, { pages });
    for (let i = 0; i < 60; i++) {
      const body = `${'x'.repeat(19_000)} ${i}`;
      proposeAgreement(alexPage.doc, { title: `Big ${i}`, body, by: alexPage.partnerId, at: i });
    }
    await alexPage.settled();
    const db = openServerDatabase(s);
    const stored = envelopeRows(db, alex.membership.spaceId).reduce((n, r) => n + r.data.length, 0);
    db.close();
    expect(stored).toBeGreaterThan(1 << 20); // a backlog part holds at most 1 MiB
    const fresh = new SealedPage(s, alex);
    pages.push(fresh);
    await fresh.until(() => fresh.provider.synced, 'the space to load', 20_000);
    expect(listAgreements(fresh.doc)).toHaveLength(60);
    expectEveryReceiptTaken(fresh);
  });

  it('a device offline keeps sealing; after a reload its outbox is sent once and the partner gets every edit exactly once', async () => {
    const s = await server();
    const { alex, sam, alexPage, samPage } = await sealedCouple(s, { pages });
    const alexId = alexPage.partnerId;
    const at = Date.now();
    alex.network.down();
    await alexPage.until(() => alexPage.provider.status.kind === 'disconnected', 'offline');
    checkIn(alexPage.doc, {
      partnerId: alexId,
      date: '2026-12-02',
      safety: 4,
      state: 'alert',
      note: 'offline one',
      at,
    });
    renameSpace(alexPage.doc, { name: 'Offline name', by: alexId });
    expect(alexPage.provider.waiting).toBe(2);
    // The page is closed while offline; the reload starts from what the device stored.
    alexPage.close();
    const reloaded = new SealedPage(s, alex, { doc: reloadedDoc(alexPage.doc) });
    pages.push(reloaded);
    expect(reloaded.doc.clientID).not.toBe(alexPage.doc.clientID);
    setDisplayName(reloaded.doc, { partnerId: alexId, displayName: 'Alex offline' });
    expect(reloaded.provider.waiting).toBe(3);
    // Signed by the platform's Ed25519, the change reaches the outbox a moment later.
    await reloaded.until(() => alex.outbox.size === 3, 'the third change in the outbox');
    const stale = [...alex.outbox.entries()];
    expect(stale).toHaveLength(3);
    alex.network.up();
    await reloaded.settled();
    await samPage.until(
      () =>
        getSpace(samPage.doc)?.name === 'Offline name' &&
        listPartners(samPage.doc)[0]?.displayName === 'Alex offline',
      'Alex’s offline edits',
    );
    await sameSeq([samPage, reloaded]);
    expect(listCheckins(samPage.doc).map((c) => ('note' in c ? c.note : null))).toEqual([
      'offline one',
    ]);

    // The outbox as it stood before that resend, sent again by yet another page: acknowledged
    // as duplicates, stored once, and nothing new for Sam.
    const again = new SealedPage(
      s,
      { ...alex, outbox: new Outbox(stale) },
      { doc: reloadedDoc(reloaded.doc) },
    );
    pages.push(again);
    await again.settled();
    expect(again.replica.since).toBe(samPage.replica.since);
    expect(samPage.replica.since).toBe(reloaded.replica.since);

    const db = openServerDatabase(s);
    try {
      const rows = envelopeRows(db, alex.membership.spaceId);
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      // Every envelope either device sealed is stored, and stored once.
      const sealed = [...alex.sealed, ...sam.sealed].map((e) => `${e.stream}/${e.counter}`);
      expect(rows.map((r) => `${r.stream}/${r.counter}`).sort()).toEqual(sealed.sort());
      // One member statement per device: the reloads did not announce Alex's device again.
      const members = rows.filter((r) => r.data[1] === EnvelopeKind.member);
      expect(members).toHaveLength(2);
    } finally {
      db.close();
    }
    expectEveryReceiptTaken(samPage);
    expect(reloaded.problems).toEqual([]);
    expect(again.problems).toEqual([]);
  });

  it('a page whose socket dropped comes back from where it was and sends what waited', async () => {
    const s = await server();
    const { alex, alexPage, samPage } = await sealedCouple(s, { pages });
    const alexId = alexPage.partnerId;
    const held = alexPage.replica.since;
    alex.network.down();
    await alexPage.until(() => alexPage.provider.status.kind === 'disconnected', 'offline');
    renameSpace(alexPage.doc, { name: 'Written offline', by: alexId });
    setDisplayName(samPage.doc, { partnerId: samPage.partnerId, displayName: 'Sam online' });
    await samPage.settled();
    expect(alexPage.replica.since).toBe(held);
    alex.network.up();
    await alexPage.settled();
    await alexPage.until(
      () => listPartners(alexPage.doc)[1]?.displayName === 'Sam online',
      'Sam’s edit from while it was away',
    );
    await samPage.until(() => getSpace(samPage.doc)?.name === 'Written offline', 'the rename');
    await sameSeq([samPage, alexPage]);
    expect(alexPage.doc.toJSON()).toEqual(samPage.doc.toJSON());
    expectEveryReceiptTaken(alexPage);
    expectEveryReceiptTaken(samPage);
  });

  it('a second provider on the same document writes on a stream of its own, and the server takes it', async () => {
    const s = await server();
    const { alex, alexPage, samPage } = await sealedCouple(s, { pages });
    const first = alexPage.doc.clientID;
    alexPage.provider.destroy();
    const again = new SealedPage(s, alex, { doc: alexPage.doc });
    pages.push(again);
    expect(again.doc.clientID).not.toBe(first);
    await again.until(() => again.provider.synced, 'its sync');
    renameSpace(again.doc, { name: 'Second provider', by: again.partnerId });
    await samPage.until(() => getSpace(samPage.doc)?.name === 'Second provider', 'the rename');
    await again.settled();
    expect(again.statuses.some((st) => st.kind === 'disconnected')).toBe(false);
    expect(samPage.problems).toEqual([]);
  });

  it('shows each partner the other’s presence, sealed, and takes it away when they leave', async () => {
    const s = await server();
    const { alexPage, samPage } = await sealedCouple(s, { pages });
    alexPage.awareness.setLocalStateField('user', { name: 'Alex', editing: 'agreement-1' });
    await samPage.until(
      () => samPage.awareness.getStates().get(alexPage.doc.clientID)?.['user']?.name === 'Alex',
      'Alex’s presence',
    );
    samPage.awareness.setLocalStateField('user', { name: 'Sam' });
    await alexPage.until(
      () => alexPage.awareness.getStates().get(samPage.doc.clientID)?.['user']?.name === 'Sam',
      'Sam’s presence',
    );
    alexPage.close();
    await samPage.until(
      () => !samPage.awareness.getStates().has(alexPage.doc.clientID),
      'Alex’s presence to go',
    );
    expect([...samPage.awareness.getStates().keys()]).toEqual([samPage.awareness.clientID]);
  });
});
