import { listPartners, roots, setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind } from '@mend/protocol';
import { IDBObjectStore } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { StoreName } from '../local/schema.js';
import { openLocalCopy } from './localCopy.js';
import type { SealedSession } from './SealedSession.js';
import { FakeSocket, until } from './testing/fakeServer.js';
import { ALEX, SAM, spaceId } from './testing/sealedSpace.js';
import { pageLocks, pageOf, sessionWorld, watching, type SessionWorld } from './testing/session.js';

// Changes made while a page is not connected are held in the store and sealed as one envelope
// once it is (docs/protocol.md, "Changes made offline"). A page "dies" here as in the browser:
// its database connections close under it and its locks are let go, nothing more is written.

const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());
const opened: SealedSession[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
});

async function synced(w: SessionWorld): Promise<void> {
  const first = await pageOf(w, opened);
  await until(() => first.provider.synced, 'the first sync');
  await first.destroy();
}

function rename(session: SealedSession, ...names: string[]): void {
  for (const displayName of names) {
    setDisplayName(session.replica.doc, { partnerId: ALEX, displayName });
  }
}

/** The envelopes the log gained since `before`, as kind and stream. */
function logged(w: SessionWorld, before: number) {
  return w.space.log.entries.slice(before).map((bytes) => {
    const { kind, stream, counter } = decodeEnvelope(bytes);
    return { kind, stream, counter };
  });
}

async function heldInStore(w: SessionWorld): Promise<Map<number, Uint8Array[]>> {
  const store = await LocalSpaceStore.open(spaceId, { indexedDB: w.factory });
  try {
    return (await store.load()).held;
  } finally {
    store.close();
  }
}

/** Sam's device takes in the log: nothing set aside, and it reads what Alex's device reads. */
function samAgrees(w: SessionWorld, session: SealedSession): void {
  w.sam.sync();
  expect(w.sam.replica.setAside).toEqual([]);
  expect(json(w.sam.doc)).toEqual(json(session.replica.doc));
}

/** A page whose database connections and locks die with `die()`. */
async function mortalPage(w: SessionWorld, more: Parameters<typeof pageOf>[2] = {}) {
  const connections: IDBDatabase[] = [];
  const locks = pageLocks(w.locks);
  const page = await pageOf(w, opened, {
    indexedDB: watching(w.factory, connections),
    locks: locks.locks,
    ...more,
  });
  const die = () => {
    page.provider.destroy();
    for (const db of connections) db.close();
    locks.crash();
  };
  return { page, die };
}

describe('SealedSession, changes made offline', () => {
  it('seals what was written offline as one envelope once connected, in place of the held changes', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const page = await pageOf(w, opened, { connect: false });
    rename(page, 'One', 'Two', 'Three');
    expect(page.waiting).toBe(3);
    await page.flush();
    expect((await heldInStore(w)).get(page.replica.doc.clientID)).toHaveLength(3);

    page.connect();
    await until(() => page.provider.synced && page.waiting === 0, 'the held changes to go');
    expect(logged(w, before)).toEqual([
      { kind: EnvelopeKind.update, stream: page.replica.doc.clientID, counter: 1 },
    ]);
    await page.flush();
    expect((await heldInStore(w)).size).toBe(0);
    samAgrees(w, page);
    expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Three');

    // Online, every change is its own envelope at once, as before.
    rename(page, 'Four', 'Five');
    expect(page.provider.waiting).toBe(2);
    await until(() => page.waiting === 0, 'the online changes');
    expect(logged(w, before).map((e) => e.counter)).toEqual([1, 2, 3]);
  });

  it('sends what a page held before a reload once, from the next page, as one envelope', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const offline = await pageOf(w, opened, { connect: false });
    const stream = offline.replica.doc.clientID;
    rename(offline, 'A', 'B');
    await offline.destroy();

    const online = await pageOf(w, opened);
    expect(online.waiting).toBe(2);
    expect(online.replica.doc.clientID).not.toBe(stream);
    await until(() => online.provider.synced && online.waiting === 0, 'the held changes to go');
    expect(logged(w, before)).toEqual([{ kind: EnvelopeKind.update, stream, counter: 1 }]);
    await online.destroy();

    const again = await pageOf(w, opened);
    expect(again.waiting).toBe(0);
    await until(() => again.provider.synced, 'the third sync');
    expect(w.server.sockets.at(-1)?.submitted()).toEqual([]);
    expect(w.space.log.entries.length).toBe(before + 1);
    samAgrees(w, again);
  });

  it('continues an earlier page’s stream after what it sent online, when that page died offline', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const { page, die } = await mortalPage(w);
    await until(() => page.provider.synced, 'the sync');
    rename(page, 'Online');
    await until(() => page.waiting === 0, 'the online change');
    page.disconnect();
    rename(page, 'Offline 1', 'Offline 2');
    await page.flush();
    die();

    const next = await pageOf(w, opened);
    await until(() => next.provider.synced && next.waiting === 0, 'the held changes');
    const stream = page.replica.doc.clientID;
    expect(logged(w, before)).toEqual([
      { kind: EnvelopeKind.update, stream, counter: 1 },
      { kind: EnvelopeKind.update, stream, counter: 2 },
    ]);
    samAgrees(w, next);
    expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Offline 2');
  });

  it('sends what an earlier page held before the changes built on it, written offline or early', async () => {
    for (const early of [false, true]) {
      const w = await sessionWorld();
      await synced(w);
      const before = w.space.log.entries.length;
      const earlier = await pageOf(w, opened, { connect: false });
      rename(earlier, 'Earlier');
      await earlier.destroy();

      // The next page changes the same name: its change builds on the earlier one, so a
      // device that got it first would refuse it (missing dependencies). Written offline, or
      // on the screen shown from the local copy before the session opened.
      const doc = new Y.Doc();
      const local = await openLocalCopy(spaceId, doc, { indexedDB: w.factory });
      if (early) setDisplayName(doc, { partnerId: ALEX, displayName: 'Built on it' });
      const next = await pageOf(w, opened, { doc, local, connect: false });
      if (!early) rename(next, 'Built on it');
      next.connect();
      await until(() => next.provider.synced && next.waiting === 0, 'both pages’ changes');
      const streams = logged(w, before).map((e) => e.stream);
      expect(streams, early ? 'early' : 'offline').toEqual([
        earlier.replica.doc.clientID,
        next.replica.doc.clientID,
      ]);
      samAgrees(w, next);
      expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Built on it');
    }
  });

  it('leaves the changes another open page holds to that page, which sends them once', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const first = await pageOf(w, opened, { connect: false });
    rename(first, 'From the first tab');
    await first.flush();

    const second = await pageOf(w, opened);
    expect(second.waiting).toBe(1); // not sent yet from this device, whichever page sends it
    await until(() => second.provider.synced, 'the second tab’s sync');
    await second.flush();
    expect(w.space.log.entries.length).toBe(before);
    expect((await heldInStore(w)).size).toBe(1);

    first.connect();
    await until(() => first.provider.synced && first.waiting === 0, 'the first tab’s changes');
    expect(logged(w, before)).toHaveLength(1);
    await Promise.all([first.destroy(), second.destroy()]);
    const third = await pageOf(w, opened);
    await until(() => third.provider.synced, 'the third tab’s sync');
    expect(w.space.log.entries.length).toBe(before + 1);
    samAgrees(w, third);
  });

  it('loses nothing when the page dies after storing the envelope and before sending it', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    // A socket that opens and loses everything sent on it.
    const { page, die } = await mortalPage(w, {
      connect: false,
      openSocket: () => {
        const socket = new FakeSocket();
        setTimeout(() => socket.open(), 0);
        return socket;
      },
    });
    rename(page, 'Kept 1', 'Kept 2');
    page.connect();
    await until(() => page.provider.waiting === 1, 'the envelope sealed');
    await page.flush();
    expect((await heldInStore(w)).size).toBe(0);
    die();

    const next = await pageOf(w, opened);
    expect(next.waiting).toBe(1);
    await until(() => next.provider.synced && next.waiting === 0, 'the outbox to go');
    expect(logged(w, before)).toHaveLength(1);
    samAgrees(w, next);
    expect(listPartners(w.sam.doc)[0]?.displayName).toBe('Kept 2');
  });

  it('sends nothing twice when the page sent an envelope its store could not keep, then died', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const { page, die } = await mortalPage(w, { connect: false });
    rename(page, 'Sent 1', 'Sent 2');
    await page.flush();
    // The disk is full when the envelope would replace the held changes: the page sends it
    // anyway, as it sends what it seals online, and the changes stay held in the store.
    const original = IDBObjectStore.prototype.add;
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      if (this.name === StoreName.outbox) {
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return original.apply(this, args);
    });
    const problems: unknown[] = [];
    page.on('storage-problem', (error) => problems.push(error));
    page.connect();
    await until(() => page.provider.synced && page.waiting === 0, 'the envelope acknowledged');
    expect(problems).toHaveLength(1);
    expect(logged(w, before)).toHaveLength(1);
    await page.flush(); // tried again, failing again: no write is under way when the page dies
    die();
    vi.restoreAllMocks();
    expect((await heldInStore(w)).size).toBe(1);

    // The next page finds the changes held, and the log holding them: it forgets them.
    const next = await pageOf(w, opened);
    expect(next.waiting).toBe(2);
    await until(() => next.provider.synced && next.waiting === 0, 'the held changes forgotten');
    expect(w.server.sockets.at(-1)?.submitted()).toEqual([]);
    await next.flush();
    expect((await heldInStore(w)).size).toBe(0);
    expect(logged(w, before)).toHaveLength(1);
    samAgrees(w, next);
  });

  it('holds what waits for the platform’s signature when a page settles, for the next page if it dies', async () => {
    // Only the platform can sign (the device's key is held by it alone): a page that is hidden
    // or closed cannot finish a signature, so it holds what waits. Whenever it then dies, the
    // next page agrees with the server; once the settling page's writes are in, it loses nothing.
    let keptAll = 0;
    for (const ticks of [0, 1, 2, 3, 5, 8, 13, 21, 34, 55]) {
      const w = await sessionWorld();
      const { page, die } = await mortalPage(w);
      await until(() => page.provider.synced, 'the first sync');
      expect(page.membership.identity.signing.secretKey).toBeNull();
      const before = w.space.log.entries.length;
      for (let i = 0; i < 4; i++) {
        rename(page, `A${i}`);
        const seq = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: `S${i}` }));
        w.server.relay(seq);
      }
      let written = false;
      void page.flush().then(() => (written = true));
      for (let t = 0; t < ticks; t++) await new Promise((resolve) => setTimeout(resolve, 0));
      const kept = written;
      die();

      const next = await pageOf(w, opened);
      await until(() => next.provider.synced && next.waiting === 0, `the next page, ${ticks}`);
      if (kept) {
        keptAll += 1;
        expect(listPartners(next.replica.doc)[0]?.displayName, `died after ${ticks}`).toBe('A3');
      }
      expect(next.setAside()).toEqual([]);
      samAgrees(w, next);
      // Nothing went twice: Alex's envelopes follow each other on every stream.
      const mine = logged(w, before).filter((e) => e.kind === EnvelopeKind.update);
      for (const stream of new Set(mine.map((e) => e.stream))) {
        const counters = mine.filter((e) => e.stream === stream).map((e) => e.counter);
        expect(counters).toEqual(counters.map((_, i) => counters[0]! + i));
      }
    }
    expect(keptAll).toBeGreaterThan(3);
  });

  it('seals every change at once where there are no locks to agree on who seals', async () => {
    const w = await sessionWorld();
    await synced(w);
    const before = w.space.log.entries.length;
    const page = await pageOf(w, opened, { connect: false, locks: null });
    rename(page, 'One', 'Two');
    page.connect();
    await until(() => page.provider.synced && page.waiting === 0, 'the changes');
    expect(logged(w, before).map((e) => e.counter)).toEqual([1, 2]);
  });
});
