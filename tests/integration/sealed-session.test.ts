/**
 * SealedSession (`@mend/sealed`) against the real server: a device that keeps its sealed space
 * in IndexedDB (fake-indexeddb here, the browser's in the app) reloads and asks the server only
 * for what is new, and an edit made offline survives a reload and is stored once; edits made
 * offline go out as one envelope. Alex's pages share locks as a browser's tabs share Web Locks.
 * Sam's device is a plain page (tests/support/sealedClient.ts).
 */
import { addPartner, getSpace, initSpace, listPartners, renameSpace } from '@mend/model';
import { decodeDeviceMessage, SealedMessage, type SpaceId } from '@mend/protocol';
import {
  createSealedSpace,
  joinSealedSpace,
  ProcessLocks,
  SealedSession,
  type SealedMembership,
  type SocketLike,
} from '@mend/sealed';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Network, newDevice, SealedPage } from '../support/sealedClient.js';
import { envelopeRows, openServerDatabase } from '../support/sealedStorage.js';
import { until } from '../support/memorySessions.js';
import { startServer, type MendServer } from '../support/server.js';

const servers: MendServer[] = [];
const pages: SealedPage[] = [];
const sessions: SealedSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()));
  for (const page of pages.splice(0)) page.close();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
});

/** Alex's device: a fake IndexedDB that outlives page loads, and sockets that note each hello. */
class AlexDevice {
  readonly indexedDB = new FakeIDBFactory();
  readonly locks = new ProcessLocks();
  readonly network = new Network();
  readonly hellos: number[] = [];

  constructor(
    readonly server: MendServer,
    readonly membership: SealedMembership,
  ) {}

  readonly openSocket = (): SocketLike => {
    const socket = this.network.open(this.server, this.membership);
    const send = socket.send.bind(socket);
    socket.send = (data) => {
      const message = decodeDeviceMessage(data);
      if (message.type === SealedMessage.hello) this.hellos.push(message.since);
      send(data);
    };
    return socket;
  };

  async open(connect = true): Promise<{ session: SealedSession; receipts: number[] }> {
    const session = await SealedSession.open({
      spaceId: this.membership.spaceId,
      doc: new Y.Doc(),
      awareness: null,
      openSocket: this.openSocket,
      indexedDB: this.indexedDB,
      locks: this.locks,
      reconnectDelay: () => 50,
      connect,
    });
    sessions.push(session);
    const receipts: number[] = [];
    session.on('receipt', (_, seq) => receipts.push(seq));
    return { session, receipts };
  }
}

describe('a sealed session against the real server', () => {
  it('reloads from where it was, and sends an offline edit after a reload exactly once', async () => {
    const s = await startServer();
    servers.push(s);
    const created = await createSealedSpace({ baseUrl: s.url });
    const alex = new AlexDevice(s, created);
    await SealedSession.saveMembership(created, { indexedDB: alex.indexedDB });
    const spaceId: SpaceId = created.spaceId;

    const { session: first } = await alex.open();
    await until(() => first.provider.synced, 'Alex’s first sync');
    initSpace(first.replica.doc, { name: 'Ours', createdAt: Date.now() });
    addPartner(first.replica.doc, {
      id: created.partnerId,
      displayName: 'Alex',
      joinedAt: Date.now(),
      color: '#aa3355',
    });
    const joined = await joinSealedSpace(spaceId, created.inviteSecret, { baseUrl: s.url });
    const samPage = new SealedPage(s, newDevice('Sam', joined));
    pages.push(samPage);
    await samPage.until(() => samPage.provider.synced, 'Sam’s first sync');
    addPartner(samPage.doc, {
      id: joined.partnerId,
      displayName: 'Sam',
      joinedAt: Date.now(),
      color: '#3355aa',
    });
    await samPage.settled();
    await until(
      () => first.waiting === 0 && first.replica.since === samPage.replica.since,
      'Sam’s seat at Alex’s',
    );
    const since = first.replica.since;
    await first.destroy();

    // Offline: the page opens from the device alone and writes.
    const { session: offline } = await alex.open(false);
    expect(listPartners(offline.replica.doc).map((p) => p.displayName)).toEqual(['Alex', 'Sam']);
    renameSpace(offline.replica.doc, { name: 'Renamed offline', by: created.partnerId });
    expect(offline.waiting).toBe(1);
    await offline.flush();
    expect(offline.savedOnDevice).toBe(true);
    await offline.destroy();
    const helloCount = alex.hellos.length;

    // Online again: the hello names where the device was; only its own edit comes back (its ack).
    const { session: online, receipts } = await alex.open();
    expect(getSpace(online.replica.doc)?.name).toBe('Renamed offline');
    await until(() => online.provider.synced && online.waiting === 0, 'the outbox to go');
    expect(alex.hellos.slice(helloCount)).toEqual([since]);
    expect(receipts).toEqual([since + 1]);
    await samPage.until(() => getSpace(samPage.doc)?.name === 'Renamed offline', 'the rename');
    await online.destroy();

    // Sam writes while Alex is away; the next page load receives that and nothing else.
    renameSpace(samPage.doc, { name: 'Sam’s name for it', by: joined.partnerId });
    await samPage.settled();
    const { session: later, receipts: laterReceipts } = await alex.open();
    await until(() => later.provider.synced, 'the last sync');
    expect(alex.hellos.at(-1)).toBe(since + 1);
    expect(laterReceipts).toEqual([since + 2]);
    expect(getSpace(later.replica.doc)?.name).toBe('Sam’s name for it');
    expect(later.replica.doc.toJSON()).toEqual(samPage.doc.toJSON());
    expect(later.setAside()).toEqual([]);
    expect(samPage.problems).toEqual([]);

    const db = openServerDatabase(s);
    try {
      const rows = envelopeRows(db, spaceId);
      expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
      const ids = rows.map((r) => `${r.stream}/${r.counter}`);
      expect(new Set(ids).size).toBe(ids.length);
      expect(rows).toHaveLength(since + 2);
    } finally {
      db.close();
    }
  });
});

describe('edits made offline against the real server', () => {
  it('go out as one envelope after a reload, stored once, and the partner reads them', async () => {
    const s = await startServer();
    servers.push(s);
    const created = await createSealedSpace({ baseUrl: s.url });
    const alex = new AlexDevice(s, created);
    await SealedSession.saveMembership(created, { indexedDB: alex.indexedDB });
    const { session: first } = await alex.open();
    await until(() => first.provider.synced, 'Alex’s first sync');
    initSpace(first.replica.doc, { name: 'Ours', createdAt: Date.now() });
    addPartner(first.replica.doc, {
      id: created.partnerId,
      displayName: 'Alex',
      joinedAt: Date.now(),
      color: '#aa3355',
    });
    await until(() => first.waiting === 0, 'the seat stored');
    const before = first.replica.since;
    await first.destroy();

    const { session: offline } = await alex.open(false);
    // A page loads what holds offline changes once a socket closes or a change is made offline
    // (the first such change is sealed at once meanwhile); this one has no socket.
    await offline.provider.holdingReady();
    for (let i = 1; i <= 40; i++) {
      renameSpace(offline.replica.doc, { name: `Offline ${i}`, by: created.partnerId });
    }
    expect(offline.waiting).toBe(40);
    const stream = offline.replica.doc.clientID;
    await offline.destroy();

    const { session: online } = await alex.open();
    expect(online.waiting).toBe(40);
    await until(() => online.provider.synced && online.waiting === 0, 'the held edits to go');
    await online.destroy();
    const { session: again } = await alex.open();
    await until(() => again.provider.synced, 'the next sync');
    expect(again.waiting).toBe(0);
    const db = openServerDatabase(s);
    try {
      // One envelope for the forty edits, the first of their stream, stored once.
      const rows = envelopeRows(db, created.spaceId);
      expect(rows).toHaveLength(before + 1);
      expect(rows.map((r) => [r.seq, r.stream, r.counter]).at(-1)).toEqual([before + 1, stream, 1]);
    } finally {
      db.close();
    }

    const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, {
      baseUrl: s.url,
    });
    const samPage = new SealedPage(s, newDevice('Sam', joined));
    pages.push(samPage);
    await samPage.until(() => samPage.provider.synced, 'Sam’s first sync');
    expect(getSpace(samPage.doc)?.name).toBe('Offline 40');
    expect(samPage.problems).toEqual([]);
  });
});

describe('joining a sealed space with the link', () => {
  it('opens the welcome box before it sends its keys, and a second holder of the link gets no key', async () => {
    const s = await startServer();
    servers.push(s);
    const created = await createSealedSpace({ baseUrl: s.url });
    // A second device takes the box first, as someone who saw the link could.
    const handedTo: string[] = [];
    const watched: typeof fetch = async (url, init) => {
      handedTo.push(String(url).replace(s.url, ''));
      return fetch(url, init);
    };
    const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, {
      baseUrl: s.url,
      fetch: watched,
    });
    expect(handedTo).toEqual([
      `/api/sealed-spaces/${created.spaceId}/welcome`,
      `/api/sealed-spaces/${created.spaceId}/join`,
    ]);
    expect(joined.keyring.spaceId).toBe(created.spaceId);
    const late = joinSealedSpace(created.spaceId, created.inviteSecret, { baseUrl: s.url });
    await expect(late).rejects.toMatchObject({ name: 'SealedApiError', status: 409 });
  });

  it('completes when the answers to the welcome and to the join are lost once each', async () => {
    const s = await startServer();
    servers.push(s);
    const created = await createSealedSpace({ baseUrl: s.url });
    const lost = new Set<string>();
    // The request reaches the server and is carried out; its answer never comes back.
    const losing: typeof fetch = async (url, init) => {
      const answer = await fetch(url, init);
      const step = String(url).split('/').at(-1) ?? '';
      if (!lost.has(step)) {
        lost.add(step);
        throw new TypeError('the network went away');
      }
      return answer;
    };
    const joined = await joinSealedSpace(created.spaceId, created.inviteSecret, {
      baseUrl: s.url,
      fetch: losing,
      retryPausesMs: [10, 10, 10],
    });
    expect([...lost]).toEqual(['welcome', 'join']);
    // The token this device holds is the one that works.
    const whoAmI = await fetch(`${s.url}/sync/${created.spaceId}`, {
      headers: { authorization: `Bearer ${joined.token}` },
    });
    expect(whoAmI.status).toBe(200);
    expect(((await whoAmI.json()) as { partnerId: string }).partnerId).toBe(joined.partnerId);
    const samPage = new SealedPage(s, newDevice('Sam', joined));
    pages.push(samPage);
    await samPage.until(() => samPage.provider.synced, 'Sam’s first sync');
    // Anyone else with the link still gets nothing.
    const late = joinSealedSpace(created.spaceId, created.inviteSecret, { baseUrl: s.url });
    await expect(late).rejects.toMatchObject({ name: 'SealedApiError', status: 409 });
  });
});
