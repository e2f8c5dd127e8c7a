/**
 * Tampering with a sealed space where the server keeps it: its SQLite database is edited while
 * it runs (a changed, deleted, reordered or replayed envelope), and a partner's device with a
 * valid token forges what the other partner wrote. Each time, a fresh device of the honest
 * partner (new document, since 0, same keys) loads the space, says what it found in plain
 * words, keeps the honest content and none of the forged, and keeps syncing after it.
 */
import {
  checkIn,
  getSpace,
  listAgreements,
  listCheckins,
  listPartners,
  proposeAgreement,
  renameSpace,
  setDisplayName,
  type PartnerId,
} from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { sealEnvelope, StreamWriter, toBase64Url, type SetAside } from '@mend/sealed';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  reloadedDoc,
  sameSeq,
  SealedPage,
  sealedCouple,
  submitByHand,
  type SealedCoupleOf,
} from '../support/sealedClient.js';
import {
  appendEnvelope,
  deleteEnvelope,
  envelopeRows,
  openServerDatabase,
  replaceEnvelope,
  swapEnvelopes,
  type StoredEnvelopeRow,
} from '../support/sealedStorage.js';
import { startServer, type MendServer } from '../support/server.js';
import type Database from 'better-sqlite3';

const servers: MendServer[] = [];
const pages: SealedPage[] = [];
const databases: Database.Database[] = [];

afterEach(async () => {
  for (const page of pages.splice(0)) page.close();
  for (const db of databases.splice(0)) db.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

const AT = Date.UTC(2026, 11, 1, 9);

/** A space where Alex checked in and Sam wrote three envelopes in a row: the targets. */
interface Written extends SealedCoupleOf {
  readonly server: MendServer;
  readonly db: Database.Database;
  readonly alexId: PartnerId;
  readonly samId: PartnerId;
  /** Sam's last three envelopes: agreement one, agreement two, his new display name. */
  readonly sams: readonly StoredEnvelopeRow[];
}

async function writtenSpace(): Promise<Written> {
  const server = await startServer();
  servers.push(server);
  const couple = await sealedCouple(server, { pages });
  const { alexPage, samPage } = couple;
  const alexId = alexPage.partnerId;
  const samId = samPage.partnerId;
  checkIn(alexPage.doc, {
    partnerId: alexId,
    date: '2026-12-01',
    safety: 8,
    state: 'calm',
    note: 'Alex, honest',
    at: AT,
  });
  await alexPage.settled();
  proposeAgreement(samPage.doc, { title: 'Agreement one', body: 'One.', by: samId, at: AT });
  proposeAgreement(samPage.doc, { title: 'Agreement two', body: 'Two.', by: samId, at: AT });
  setDisplayName(samPage.doc, { partnerId: samId, displayName: 'Samuel' });
  await samPage.settled();
  await sameSeq([alexPage, samPage]);
  const db = openServerDatabase(server);
  databases.push(db);
  const sams = envelopeRows(db, couple.spaceId)
    .filter((r) => r.stream === samPage.doc.clientID)
    .slice(-3);
  // Both honest devices go away; what follows happens to the stored log alone.
  alexPage.close();
  samPage.close();
  return { ...couple, server, db, alexId, samId, sams };
}

/** A fresh device of Alex's: same keys and token, a new document, nothing taken in yet. */
async function freshAlex(space: Written): Promise<SealedPage> {
  const page = new SealedPage(space.server, space.alex);
  pages.push(page);
  await page.until(() => page.provider.synced, 'the space to load');
  return page;
}

/** Sam comes back (a reload: a new stream) and checks in; Alex's fresh device must get it. */
async function laterHonestEdit(space: Written, fresh: SealedPage): Promise<void> {
  const sam = new SealedPage(space.server, space.sam, { doc: reloadedDoc(space.samPage.doc) });
  pages.push(sam);
  await sam.until(() => sam.provider.synced, 'Sam’s reload');
  const before = fresh.problems.length;
  checkIn(sam.doc, {
    partnerId: space.samId,
    date: '2026-12-09',
    safety: 6,
    state: 'calm',
    note: 'Sam, later',
    at: AT + 9,
  });
  await fresh.until(
    () => listCheckins(fresh.doc).some((c) => 'note' in c && c.note === 'Sam, later'),
    'Sam’s later check-in',
  );
  expect(fresh.problems).toHaveLength(before);
  expect(fresh.receipts.at(-1)?.receipt.kind).toBe('applied');
}

/** Alex's check-in and seat as she wrote them: the honest partner's content. */
function expectAlexIntact(page: SealedPage, space: Written): void {
  expect(listCheckins(page.doc).filter((c) => c.partnerId === space.alexId)).toEqual([
    expect.objectContaining({ note: 'Alex, honest', safety: 8 }),
  ]);
  expect(listPartners(page.doc).find((p) => p.id === space.alexId)?.displayName).toBe('Alex');
  expect(getSpace(page.doc)?.name).toBe('Our space');
}

const titles = (page: SealedPage) =>
  listAgreements(page.doc)
    .map((a) => a.title)
    .sort();
const samName = (page: SealedPage, space: Written) =>
  listPartners(page.doc).find((p) => p.id === space.samId)?.displayName;
const reasons = (entries: readonly SetAside[]) => entries.map((e) => [e.reason, e.detail]);

describe('a fresh device of the honest partner, after the stored log was changed', () => {
  it('sets aside an envelope whose ciphertext was changed, and what its stream wrote after it', async () => {
    const space = await writtenSpace();
    const target = space.sams[1]!;
    const changed = new Uint8Array(target.data);
    changed[changed.length - 64 - 10]! ^= 0x01; // inside the ciphertext, before the signature
    replaceEnvelope(space.db, space.spaceId, target.seq, changed);
    const fresh = await freshAlex(space);
    expect(reasons(fresh.setAside)).toEqual([
      ['forged', expect.stringMatching(/changed after its author signed it/)],
      ['out-of-order', expect.stringMatching(/came before envelope/)],
    ]);
    expect(fresh.setAside.map((e) => e.seq)).toEqual([target.seq, space.sams[2]!.seq]);
    expectAlexIntact(fresh, space);
    expect(titles(fresh)).toEqual(['Agreement one']);
    expect(samName(fresh, space)).toBe('Sam');
    await laterHonestEdit(space, fresh);
  });

  it('sets aside an envelope whose signature was changed', async () => {
    const space = await writtenSpace();
    const target = space.sams[1]!;
    const changed = new Uint8Array(target.data);
    changed[changed.length - 1]! ^= 0x80;
    replaceEnvelope(space.db, space.spaceId, target.seq, changed);
    const fresh = await freshAlex(space);
    expect(reasons(fresh.setAside)).toEqual([
      ['forged', expect.stringMatching(/never signed by that device/)],
      ['out-of-order', expect.stringMatching(/came before envelope/)],
    ]);
    expectAlexIntact(fresh, space);
    expect(titles(fresh)).toEqual(['Agreement one']);
    await laterHonestEdit(space, fresh);
  });

  it('says the server skipped a deleted envelope, goes on past it, and sets aside what followed on its stream', async () => {
    const space = await writtenSpace();
    const target = space.sams[1]!;
    deleteEnvelope(space.db, space.spaceId, target.seq);
    const fresh = await freshAlex(space);
    expect(fresh.tampers).toEqual([
      expect.stringMatching(new RegExp(`skipped position ${target.seq} of this space`)),
    ]);
    // The gap is no envelope: it is told as tampering, and the replica keeps it on record.
    expect(reasons(fresh.replica.setAside)).toEqual([
      ['missing', expect.stringMatching(/removed or withheld/)],
      ['out-of-order', expect.stringMatching(/came before envelope/)],
    ]);
    expect(fresh.replica.since).toBe(space.sams[2]!.seq);
    expectAlexIntact(fresh, space);
    expect(titles(fresh)).toEqual(['Agreement one']);
    expect(samName(fresh, space)).toBe('Sam');
    await laterHonestEdit(space, fresh);
  });

  it('sets aside the first of two stored envelopes swapped in order', async () => {
    const space = await writtenSpace();
    const [, second, third] = space.sams;
    swapEnvelopes(space.db, space.spaceId, second!.seq, third!.seq);
    const fresh = await freshAlex(space);
    expect(reasons(fresh.setAside)).toEqual([
      ['out-of-order', expect.stringMatching(/came before envelope/)],
    ]);
    expect(fresh.setAside[0]?.seq).toBe(second!.seq);
    expectAlexIntact(fresh, space);
    // The second continues the chain once it comes; the third, taken out of order, stays out.
    expect(titles(fresh)).toEqual(['Agreement one', 'Agreement two']);
    expect(samName(fresh, space)).toBe('Sam');
    await laterHonestEdit(space, fresh);
  });

  it('sets aside a stored envelope served again at a new position', async () => {
    const space = await writtenSpace();
    const replayed = appendEnvelope(space.db, space.spaceId, space.sams[0]!.data);
    const fresh = await freshAlex(space);
    expect(reasons(fresh.setAside)).toEqual([
      ['out-of-order', expect.stringMatching(/came again or out of order/)],
    ]);
    expect(fresh.setAside[0]?.seq).toBe(replayed);
    expectAlexIntact(fresh, space);
    expect(titles(fresh)).toEqual(['Agreement one', 'Agreement two']);
    expect(samName(fresh, space)).toBe('Samuel');
    await laterHonestEdit(space, fresh);
  });
});

describe('a device that already holds the space', () => {
  it('says so when the server went back on what it had served', async () => {
    const space = await writtenSpace();
    const page = new SealedPage(space.server, space.alex);
    pages.push(page);
    await page.until(() => page.provider.synced, 'the space to load');
    const held = page.replica.since;
    space.alex.network.down();
    await page.until(() => page.provider.status.kind === 'disconnected', 'offline');
    deleteEnvelope(space.db, space.spaceId, space.sams[2]!.seq);
    space.alex.network.up();
    await page.until(() => page.tampers.length > 0, 'the rollback to be noticed');
    expect(page.tampers).toEqual([
      `The server now holds ${held - 1} envelopes; it already served ${held}.`,
    ]);
    expect(page.replica.since).toBe(held);
    expectAlexIntact(page, space);
    expect(samName(page, space)).toBe('Samuel');
  });
});

describe('a fresh device of the honest partner, after the other partner’s device forged', () => {
  it('keeps aside the partner’s check-in in her name, an update under her client id and an envelope on her stream', async () => {
    const space = await writtenSpace();
    const alexStream = space.alexPage.doc.clientID;
    // 1. Through Mend's own client: Sam's device writes a check-in in Alex's name.
    const sam = new SealedPage(space.server, space.sam, { doc: reloadedDoc(space.samPage.doc) });
    pages.push(sam);
    await sam.until(() => sam.provider.synced, 'Sam’s reload');
    checkIn(sam.doc, {
      partnerId: space.alexId,
      date: '2026-12-01',
      safety: 0,
      state: 'freeze',
      note: 'forged by Sam',
      at: AT + 5,
    });
    await sam.settled();

    // 2. By hand, on a new stream of Sam's device: a rename whose Yjs structs use Alex's id.
    const forger = reloadedDoc(space.samPage.doc);
    forger.clientID = alexStream;
    const updates: Uint8Array[] = [];
    forger.on('update', (u: Uint8Array) => updates.push(u));
    renameSpace(forger, { name: 'Renamed as Alex', by: space.alexId });
    const stream = 0x5a5a_0001;
    const writer = new StreamWriter(stream);
    const underHerId = sealEnvelope({
      identity: space.sam.membership.identity,
      keyring: space.sam.membership.keyring,
      kind: EnvelopeKind.update,
      ...writer.next(),
      payload: Y.mergeUpdates(updates),
    });
    expect(await submitByHand(space.server, space.sam, underHerId.bytes, stream)).toEqual({
      seq: expect.any(Number),
    });

    // 3. On Alex's own stream: the server refuses it, so a colluding server stores it itself.
    const next = sealEnvelope({
      identity: space.sam.membership.identity,
      keyring: space.sam.membership.keyring,
      kind: EnvelopeKind.update,
      stream: alexStream,
      counter: 3,
      prev: new Uint8Array(32),
      payload: Y.mergeUpdates(updates),
    });
    expect(await submitByHand(space.server, space.sam, next.bytes, alexStream)).toEqual({
      closed: 4409,
    });
    appendEnvelope(space.db, space.spaceId, next.bytes);

    const fresh = await freshAlex(space);
    expect(reasons(fresh.setAside)).toEqual([
      ['refused', expect.stringMatching(/is the other partner's/)],
      ['refused', expect.stringMatching(/client id \d+, which the author's device does not own/)],
      ['out-of-order', expect.stringMatching(/belongs to another device/)],
    ]);
    const samDevice = toBase64Url(space.sam.membership.identity.signing.publicKey);
    expect(fresh.setAside.map((e) => e.author)).toEqual([samDevice, samDevice, samDevice]);
    expectAlexIntact(fresh, space);
    expect(titles(fresh)).toEqual(['Agreement one', 'Agreement two']);
    await laterHonestEdit(space, fresh);
  });
});
