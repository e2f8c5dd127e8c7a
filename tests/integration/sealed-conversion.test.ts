/**
 * Converting a plaintext space end to end (issue 12; docs/protocol.md, "Converting a plaintext
 * space"), as the devices run it with @mend/sealed against the real server: two plaintext copies
 * synced over y-websocket offer their sealing keys in the document, one device seals the space,
 * the other fetches its key box, each adopts its plaintext copy into its sealed store
 * (fake-indexeddb, one factory per device) and opens a SealedSession. Nothing is lost: what a
 * device wrote offline before it learnt of the conversion reaches the other as its carried
 * envelope, sent once, and the server keeps none of the plaintext. Also: a lost answer to the
 * seal, both devices sealing at once, and the old invite link of a space sealed with a new one.
 */
import {
  addBoundary,
  addPartner,
  listAgreements,
  listBoundaries,
  listPartners,
  offerSealingKeys,
  proposeAgreement,
  readSealingKeys,
  type PartnerId,
} from '@mend/model';
import {
  CloseCode,
  decodeDeviceMessage,
  decodeEnvelope,
  EnvelopeKind,
  SealedMessage,
  type SpaceId,
} from '@mend/protocol';
import {
  adoptPlaintextCopy,
  joinSealedSpace,
  loadOrMakeSealingIdentity,
  receiveSealedKey,
  SealedSession,
  sealingOffer,
  sealPlaintextSpace,
  type DeviceIdentity,
  type LoggedEnvelope,
  type SealedMembership,
  type SealResult,
} from '@mend/sealed';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { createSpace, joinSpace, postJson } from '../support/api.js';
import {
  nextClose,
  openProvider,
  sameDocument,
  waitForDoc,
  waitForSynced,
} from '../support/clients.js';
import { Network } from '../support/sealedClient.js';
import { envelopeRows, openServerDatabase } from '../support/sealedStorage.js';
import { startServer, withTimeout, type MendServer } from '../support/server.js';
import { dataFiles, holding, rowsHolding } from '../support/storageProbe.js';

const databaseUrl = process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;

const servers: MendServer[] = [];
const providers: WebsocketProvider[] = [];
const sessions: SealedSession[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.destroy()));
  for (const provider of providers.splice(0)) provider.destroy();
  await Promise.all(servers.splice(0).map((s) => s.dispose()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function server(): Promise<MendServer> {
  const started = await startServer();
  servers.push(started);
  return started;
}

/** Random per run, so nothing else can have left them anywhere. */
function newWords() {
  const word = (what: string) => `${what}-${randomBytes(10).toString('hex')}`;
  return {
    space: word('space'),
    alex: word('alex'),
    sam: word('sam'),
    agreement: word('canary'),
    /** What Alex writes after Sam went offline: Sam gets it from the genesis only. */
    late: word('late'),
    /** Sam's offline boundary: it never reaches the plaintext server. */
    boundary: word('boundary'),
  };
}
type Words = ReturnType<typeof newWords>;

/** A sealed space open on a device: the session, its document, and what its sockets said. */
interface Opened {
  readonly name: string;
  readonly session: SealedSession;
  readonly doc: Y.Doc;
  /** The `since` of every hello the device sent. */
  readonly hellos: number[];
  /** Each carry-over: whether it sealed a carried envelope (false: nothing was missing). */
  readonly carried: boolean[];
}

/** Opens the sealed space stored in `indexedDB`, over `ws` with the membership's Bearer token. */
async function openSession(
  name: string,
  node: MendServer,
  membership: SealedMembership,
  indexedDB: IDBFactory,
): Promise<Opened> {
  const network = new Network();
  const hellos: number[] = [];
  const doc = new Y.Doc();
  const session = await SealedSession.open({
    spaceId: membership.spaceId,
    doc,
    awareness: null,
    indexedDB,
    reconnectDelay: () => 50,
    openSocket: () => {
      const socket = network.open(node, membership);
      const send = socket.send.bind(socket);
      socket.send = (data) => {
        const message = decodeDeviceMessage(data);
        if (message.type === SealedMessage.hello) hellos.push(message.since);
        send(data);
      };
      return socket;
    },
  });
  sessions.push(session);
  const carried: boolean[] = [];
  session.on('carried', (sealed) => carried.push(sealed));
  return { name, session, doc, hellos, carried };
}

const SESSION_EVENTS = ['status', 'receipt', 'waiting', 'carried', 'set-aside', 'saved'] as const;

/** Resolves once `predicate()` holds, checking after everything the sessions report. */
function until(opened: readonly Opened[], predicate: () => boolean, what: string): Promise<void> {
  if (predicate()) return Promise.resolve();
  let check: () => void = () => undefined;
  return withTimeout(
    new Promise<void>((resolve) => {
      check = () => {
        if (predicate()) resolve();
      };
      for (const o of opened) {
        for (const event of SESSION_EVENTS) o.session.on(event, check);
        o.doc.on('update', check);
      }
    }),
    10_000,
    `timed out waiting for ${what}`,
  )
    .catch((error: unknown) => {
      throw new Error(`${String(error)}; the sessions: ${opened.map(describeSession).join(', ')}`);
    })
    .finally(() => {
      for (const o of opened) {
        for (const event of SESSION_EVENTS) o.session.off(event, check);
        o.doc.off('update', check);
      }
    });
}

function describeSession(o: Opened): string {
  const { session } = o;
  return `${o.name} ${JSON.stringify({
    status: session.provider.status.kind,
    since: session.replica.since,
    waiting: session.waiting,
    setAside: session.setAside().length,
    hellos: o.hellos,
  })}`;
}

/** Both synced, nothing waiting, at the same seq, and the same document. */
function converged(a: Opened, b: Opened): Promise<void> {
  return until(
    [a, b],
    () =>
      [a, b].every((o) => o.session.provider.synced && o.session.waiting === 0) &&
      a.session.replica.since === b.session.replica.since &&
      sameDocument(a.doc, b.doc),
    `${a.name} and ${b.name} to converge`,
  );
}

/** One partner's device: its plaintext copy and socket, and the IndexedDB its sealed copy goes to. */
class Device {
  readonly indexedDB = new FakeIDBFactory();
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  #identity: DeviceIdentity | null = null;

  constructor(
    readonly name: string,
    readonly node: MendServer,
    readonly spaceId: SpaceId,
    readonly partnerId: PartnerId,
    readonly token: string,
  ) {
    this.provider = openProvider(node, spaceId, token, { doc: this.doc }).provider;
    providers.push(this.provider);
  }

  get identity(): DeviceIdentity {
    if (this.#identity === null) throw new Error(`${this.name} has not offered keys`);
    return this.#identity;
  }

  options(fetchImpl?: typeof fetch) {
    return {
      baseUrl: this.node.url,
      indexedDB: this.indexedDB,
      retryPausesMs: [10, 10, 10],
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    };
  }

  /** Makes this device's sealing keys (kept in its IndexedDB) and offers them in its copy. */
  async offerKeys(): Promise<void> {
    this.#identity = await loadOrMakeSealingIdentity(this.spaceId, { indexedDB: this.indexedDB });
    offerSealingKeys(this.doc, { partnerId: this.partnerId, ...sealingOffer(this.#identity) });
  }

  seal(withInvite: boolean, fetchImpl?: typeof fetch): Promise<SealResult> {
    return sealPlaintextSpace(
      {
        spaceId: this.spaceId,
        partnerId: this.partnerId,
        identity: this.identity,
        doc: this.doc,
        partners: listPartners(this.doc).map((p) => p.id),
        token: this.token,
        withInvite,
      },
      this.options(fetchImpl),
    );
  }

  async receive(): Promise<SealedMembership> {
    const membership = await receiveSealedKey(
      {
        spaceId: this.spaceId,
        partnerId: this.partnerId,
        identity: this.identity,
        token: this.token,
      },
      this.options(),
    );
    if (membership === null) throw new Error(`${this.name}: the space is not sealed`);
    return membership;
  }

  /** Moves the plaintext copy into the sealed store and opens the sealed space. */
  async adoptAndOpen(
    membership: SealedMembership,
    log: readonly LoggedEnvelope[] | null = null,
  ): Promise<Opened> {
    const adopted = await adoptPlaintextCopy(
      { membership, doc: this.doc, log },
      { indexedDB: this.indexedDB },
    );
    expect(adopted).toBe(true);
    return openSession(this.name, this.node, membership, this.indexedDB);
  }
}

interface PlaintextCouple {
  readonly spaceId: SpaceId;
  readonly inviteCode: string;
  readonly alex: Device;
  readonly sam: Device;
}

/**
 * Alex creates a plaintext space on `alexNode` and Sam joins it on `samNode`; both copies sync,
 * Alex writes an agreement, and each device offers its sealing keys. Resolves once both copies
 * hold both offers and the agreement (so the server holds them too).
 */
async function plaintextCouple(
  alexNode: MendServer,
  samNode: MendServer,
  words: Words,
): Promise<PlaintextCouple> {
  const created = await createSpace(alexNode, { displayName: words.alex, name: words.space });
  const joined = await joinSpace(samNode, created.spaceId, {
    inviteCode: created.inviteCode,
    displayName: words.sam,
  });
  const spaceId = created.spaceId as SpaceId;
  const alex = new Device('Alex', alexNode, spaceId, created.partnerId as PartnerId, created.token);
  const sam = new Device('Sam', samNode, spaceId, joined.partnerId as PartnerId, joined.token);
  await Promise.all([waitForSynced(alex.provider), waitForSynced(sam.provider)]);
  await waitForDoc(
    [alex.doc, sam.doc],
    () => listPartners(alex.doc).length === 2 && listPartners(sam.doc).length === 2,
    'both partners in both copies',
  );
  proposeAgreement(alex.doc, {
    title: 'We promise',
    body: `Said plainly: ${words.agreement}`,
    by: alex.partnerId,
    at: Date.now(),
  });
  await Promise.all([alex.offerKeys(), sam.offerKeys()]);
  await waitForDoc(
    [alex.doc, sam.doc],
    () =>
      [alex, sam].every(
        (d) => readSealingKeys(d.doc).size === 2 && listAgreements(d.doc).length === 1,
      ),
    'both offers and the agreement in both copies',
  );
  return { spaceId, inviteCode: created.inviteCode, alex, sam };
}

function bodies(doc: Y.Doc): string[] {
  return listAgreements(doc).map((a) => a.body);
}

/** What the server keeps, looked at from outside it. */
interface StorageView {
  /** Which of `needles` are anywhere in the server's storage. */
  holding(needles: readonly string[]): Promise<string[]>;
  /** The kind of each envelope of the space's sealed log, in seq order. */
  envelopeKinds(spaceId: SpaceId): Promise<number[]>;
}

function sqliteView(node: MendServer): StorageView {
  return {
    async holding(needles) {
      const files = await dataFiles(node);
      return needles.filter((n) => holding(files, n).length > 0);
    },
    async envelopeKinds(spaceId) {
      const db = openServerDatabase(node);
      try {
        const rows = envelopeRows(db, spaceId);
        expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
        return rows.map((r) => decodeEnvelope(r.data).kind);
      } finally {
        db.close();
      }
    },
  };
}

function postgresView(db: pg.Client): StorageView {
  return {
    async holding(needles) {
      const found: string[] = [];
      for (const needle of needles) {
        if ((await rowsHolding(db, needle)).length > 0) found.push(needle);
      }
      return found;
    },
    async envelopeKinds(spaceId) {
      const rows = await db.query<{ seq: string; data: Buffer }>(
        'SELECT seq, data FROM sealed_envelopes WHERE space_id = $1 ORDER BY seq',
        [spaceId],
      );
      expect(rows.rows.map((r) => Number(r.seq))).toEqual(rows.rows.map((_, i) => i + 1));
      return rows.rows.map((r) => decodeEnvelope(r.data).kind);
    },
  };
}

function count(kinds: readonly number[], kind: number): number {
  return kinds.filter((k) => k === kind).length;
}

/**
 * Scenario of issue 12: Sam writes a boundary offline, Alex seals the space meanwhile; Sam's
 * plaintext socket is refused (4410) when he comes back, he fetches his key, and his boundary
 * reaches Alex as his carried envelope, sent once; the server keeps no plaintext.
 */
async function sealWhileSamIsOffline(
  alexNode: MendServer,
  samNode: MendServer,
  storage: StorageView,
  made: (spaceId: SpaceId) => void = () => undefined,
): Promise<Words> {
  const words = newWords();
  const { spaceId, alex, sam } = await plaintextCouple(alexNode, samNode, words);
  made(spaceId);
  const named = [words.agreement, words.space, words.alex, words.sam];
  // The search finds what is there: before the conversion, the plaintext is stored.
  expect(await storage.holding(named)).toEqual(named);

  sam.provider.disconnect();
  addBoundary(sam.doc, { text: words.boundary, owner: sam.partnerId, at: Date.now() });
  proposeAgreement(alex.doc, {
    title: 'Later',
    body: words.late,
    by: alex.partnerId,
    at: Date.now(),
  });

  const alexClosed = nextClose(alex.provider, 'Alex’s plaintext socket');
  const sealed = await alex.seal(false);
  if (sealed.kind !== 'sealed') throw new Error(`Alex’s seal ended ${sealed.kind}`);
  expect(sealed.log?.map((e) => e.seq)).toEqual([1, 2]);
  expect(sealed.inviteSecret).toBeNull();
  expect(await alexClosed).toBe(CloseCode.sealedNow);
  alex.provider.destroy();

  // Sam comes back: his plaintext socket is closed before his boundary goes anywhere.
  const samClosed = nextClose(sam.provider, 'Sam’s plaintext socket');
  sam.provider.connect();
  expect(await samClosed).toBe(CloseCode.sealedNow);
  sam.provider.destroy();
  const samMembership = await sam.receive();

  const a = await alex.adoptAndOpen(sealed.membership, sealed.log);
  const b = await sam.adoptAndOpen(samMembership);
  await converged(a, b);
  // Alex's replica started after the genesis; Sam's downloaded the log.
  expect(a.hellos[0]).toBe(2);
  expect(b.hellos[0]).toBe(0);
  expect(listBoundaries(a.doc).map((x) => x.text)).toEqual([words.boundary]);
  expect(bodies(b.doc).sort()).toEqual([`Said plainly: ${words.agreement}`, words.late].sort());
  expect(a.carried).toEqual([false]);
  expect(b.carried).toEqual([true]);
  expect(a.session.setAside()).toEqual([]);
  expect(b.session.setAside()).toEqual([]);

  // Sealed edits go both ways.
  addBoundary(a.doc, { text: 'Alex, sealed', owner: alex.partnerId, at: Date.now() });
  proposeAgreement(b.doc, { title: 'Sam, sealed', body: '', by: sam.partnerId, at: Date.now() });
  await converged(a, b);
  for (const o of [a, b]) {
    expect(
      listBoundaries(o.doc)
        .map((x) => x.text)
        .sort(),
    ).toEqual(['Alex, sealed', words.boundary].sort());
    expect(listAgreements(o.doc).map((x) => x.title)).toContain('Sam, sealed');
    expect(o.session.setAside()).toEqual([]);
  }

  expect(await storage.holding([...named, words.late, words.boundary])).toEqual([]);
  const kinds = await storage.envelopeKinds(spaceId);
  expect(kinds.slice(0, 2)).toEqual([EnvelopeKind.member, EnvelopeKind.carried]);
  // The genesis and Sam's carry-over; Alex had nothing missing, so no third.
  expect(count(kinds, EnvelopeKind.carried)).toBe(2);
  expect(count(kinds, EnvelopeKind.member)).toBe(2);
  return words;
}

describe('converting a plaintext space, device to device, on a server with SQLite', () => {
  it('carries an offline edit over once, and the server keeps none of the plaintext', async () => {
    const node = await server();
    const words = await sealWhileSamIsOffline(node, node, sqliteView(node));
    const output = node.output.join('\n');
    for (const word of Object.values(words)) expect(output).not.toContain(word);
  });

  it('ends sealed when the answer to the seal is lost, and the device downloads the log', async () => {
    const node = await server();
    const { spaceId, alex, sam } = await plaintextCouple(node, node, newWords());
    const lost: number[] = [];
    // The request reaches the server and is carried out; its answer never comes back.
    const losing: typeof fetch = async (url, init) => {
      const answer = await fetch(url, init);
      if (String(url).endsWith('/seal') && lost.length === 0) {
        lost.push(answer.status);
        await answer.body?.cancel();
        throw new TypeError('the network went away');
      }
      return answer;
    };
    const sealed = await alex.seal(false, losing);
    expect(lost).toEqual([200]);
    if (sealed.kind !== 'sealed') throw new Error(`Alex’s seal ended ${sealed.kind}`);
    expect(sealed.log).toBeNull();
    alex.provider.destroy();
    sam.provider.destroy();

    const a = await alex.adoptAndOpen(sealed.membership, sealed.log);
    const b = await sam.adoptAndOpen(await sam.receive());
    await converged(a, b);
    expect(a.hellos[0]).toBe(0);
    expect(a.session.setAside()).toEqual([]);
    expect(b.session.setAside()).toEqual([]);
    expect(a.carried).toEqual([false]);
    expect(b.carried).toEqual([false]);
    addBoundary(a.doc, { text: 'After a lost answer', owner: alex.partnerId, at: Date.now() });
    await converged(a, b);
    expect(listBoundaries(b.doc).map((x) => x.text)).toEqual(['After a lost answer']);

    const kinds = await sqliteView(node).envelopeKinds(spaceId);
    expect(kinds.slice(0, 2)).toEqual([EnvelopeKind.member, EnvelopeKind.carried]);
    expect(count(kinds, EnvelopeKind.carried)).toBe(1);
    expect(count(kinds, EnvelopeKind.member)).toBe(2);
  });

  it('lets one of two devices sealing at once win; the other receives the key', async () => {
    const node = await server();
    const { spaceId, alex, sam } = await plaintextCouple(node, node, newWords());
    const results = await Promise.all([alex.seal(false), sam.seal(false)]);
    expect(results.map((r) => r.kind).sort()).toEqual(['sealed', 'sealed-by-other']);
    for (const device of [alex, sam]) device.provider.destroy();
    const winner = results[0]?.kind === 'sealed' ? alex : sam;
    const loser = winner === alex ? sam : alex;
    const won = results.find((r) => r.kind === 'sealed');
    if (won?.kind !== 'sealed') throw new Error('nobody sealed');

    const w = await winner.adoptAndOpen(won.membership, won.log);
    const l = await loser.adoptAndOpen(await loser.receive());
    await converged(w, l);
    expect(w.session.membership.creator).toEqual(winner.identity.signing.publicKey);
    expect(l.session.membership.creator).toEqual(winner.identity.signing.publicKey);
    addBoundary(l.doc, { text: 'From the one who lost', owner: loser.partnerId, at: Date.now() });
    await converged(w, l);
    expect(listBoundaries(w.doc).map((x) => x.text)).toEqual(['From the one who lost']);
    expect([w, l].map((o) => o.session.setAside())).toEqual([[], []]);
    const kinds = await sqliteView(node).envelopeKinds(spaceId);
    expect(count(kinds, EnvelopeKind.carried)).toBe(1);
    expect(count(kinds, EnvelopeKind.member)).toBe(2);
  });

  it('retires the old invite link of a space sealed with a new invite, which then works', async () => {
    const node = await server();
    const created = await createSpace(node, { displayName: 'Alex', name: 'Waiting for Sam' });
    const spaceId = created.spaceId as SpaceId;
    const alex = new Device('Alex', node, spaceId, created.partnerId as PartnerId, created.token);
    await waitForSynced(alex.provider);
    await alex.offerKeys();
    const sealed = await alex.seal(true);
    if (sealed.kind !== 'sealed') throw new Error(`Alex’s seal ended ${sealed.kind}`);
    expect(sealed.inviteSecret).toEqual(expect.any(String));
    alex.provider.destroy();

    const oldLink = await postJson(node, `/api/spaces/${spaceId}/join`, {
      inviteCode: created.inviteCode,
      displayName: 'Sam',
    });
    // The new invite replaced the old one's code, so the server no longer knows it: a wrong
    // code, checked before whether the space is sealed (docs/api.md, the join's answers).
    expect(oldLink.status).toBe(403);
    expect(oldLink.json).toEqual({ error: expect.stringContaining('ask for a new link') });

    const a = await alex.adoptAndOpen(sealed.membership, sealed.log);
    const joined = await joinSealedSpace(spaceId, sealed.inviteSecret ?? '', {
      baseUrl: node.url,
    });
    const samStore = new FakeIDBFactory();
    await SealedSession.saveMembership(joined, { indexedDB: samStore });
    const b = await openSession('Sam', node, joined, samStore);
    await until([b], () => b.session.provider.synced, 'Sam’s first sync');
    addPartner(b.doc, {
      id: joined.partnerId,
      displayName: 'Sam',
      joinedAt: Date.now(),
      color: '#3355aa',
    });
    await converged(a, b);
    expect(listPartners(a.doc).map((p) => p.id)).toEqual([alex.partnerId, joined.partnerId]);
    expect([a, b].map((o) => o.session.setAside())).toEqual([[], []]);
  });
});

describe.skipIf(!databaseUrl || !redisUrl)(
  'converting a plaintext space, device to device, on two nodes (PostgreSQL, Redis)',
  () => {
    it('carries Sam’s offline edit over once when he is on the node that did not convert', async () => {
      const env = { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl };
      const [nodeA, nodeB] = await Promise.all([startServer({ env }), startServer({ env })]);
      servers.push(nodeA, nodeB);
      const db = new pg.Client({ connectionString: databaseUrl });
      await db.connect();
      const spaceIds: string[] = [];
      cleanups.push(async () => {
        await db.query('DELETE FROM spaces WHERE space_id = ANY($1)', [spaceIds]);
        await db.end();
      });
      await sealWhileSamIsOffline(nodeA, nodeB, postgresView(db), (spaceId) =>
        spaceIds.push(spaceId),
      );
    });
  },
);
