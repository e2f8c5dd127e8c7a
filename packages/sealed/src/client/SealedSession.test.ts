import { listPartners, roots, setDisplayName } from '@mend/model';
import { EnvelopeKind } from '@mend/protocol';
import { IDBFactory as FakeIDBFactory } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { SealedError, SealedErrorReason } from '../errors.js';
import { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { LocalStoreError } from '../local/LocalStoreError.js';
import { databaseName, MetaKey, StoreName } from '../local/schema.js';
import { rawDelete, rawPut } from '../local/testing/fixtures.js';
import { platformSigningKeys } from '../crypto.js';
import { newDeviceIdentity } from '../identity.js';
import { decodeMembership } from './membershipCodec.js';
import { openLocalCopy } from './localCopy.js';
import { kindOf } from './Outbox.js';
import { SealedSession } from './SealedSession.js';
import { until } from './testing/fakeServer.js';
import { slowPlatformSigning } from './testing/platform.js';
import { ALEX, SAM, spaceId } from './testing/sealedSpace.js';
import {
  pageOf,
  pageOptions,
  sessionWorld,
  watching,
  type SessionWorld,
} from './testing/session.js';

const json = (doc: Y.Doc) => (roots(doc), doc.toJSON());
const opened: SealedSession[] = [];
const nameOf = (session: SealedSession, i: number) =>
  listPartners(session.replica.doc)[i]?.displayName;

/** A first page load that syncs and closes: the device holds the space from then on. */
async function synced(w: SessionWorld): Promise<void> {
  const first = await pageOf(w, opened);
  await until(() => first.provider.synced, 'the first sync');
  await first.destroy();
}

/**
 * A platform that cannot take a signing key (its import refused), as one without Ed25519: only
 * that import, so the module's memory of what the platform can verify is left as it is.
 */
function noPlatformSigning(): void {
  const subtle = globalThis.crypto.subtle;
  const real = subtle.importKey.bind(subtle) as (...args: unknown[]) => Promise<CryptoKey>;
  vi.spyOn(subtle, 'importKey').mockImplementation(((...args: unknown[]) =>
    args[0] === 'jwk'
      ? Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'))
      : real(...args)) as typeof subtle.importKey);
}

/** Sam's device takes in the log: nothing set aside, and Alex's name reads `name`. */
function expectSamReads(w: SessionWorld, name: string): void {
  w.sam.sync();
  expect(w.sam.replica.setAside).toEqual([]);
  expect(listPartners(w.sam.doc)[0]?.displayName).toBe(name);
}

function includes(haystack: Uint8Array, needle: Uint8Array): boolean {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((b, j) => haystack[i + j] === b)) return true;
  }
  return false;
}

async function storedOf(w: SessionWorld) {
  const store = await LocalSpaceStore.open(spaceId, { indexedDB: w.factory });
  try {
    return await store.load();
  } finally {
    store.close();
  }
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.destroy()));
  vi.restoreAllMocks();
});

describe('SealedSession', () => {
  it('after a reload asks the server only for what is new', async () => {
    const w = await sessionWorld();
    const first = await pageOf(w, opened);
    await until(() => first.provider.synced, 'the first sync');
    setDisplayName(first.replica.doc, { partnerId: ALEX, displayName: 'Alex 1' });
    const seq = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Sam 1' }));
    w.server.relay(seq);
    const head = () => w.space.log.entries.length;
    await until(() => first.waiting === 0 && first.replica.since === head(), 'both edits');
    const since = first.replica.since;
    await first.destroy();

    const second = await pageOf(w, opened);
    const receipts: number[] = [];
    second.on('receipt', (_, at) => receipts.push(at));
    expect(json(second.replica.doc)).toEqual(json(first.replica.doc));
    await until(() => second.provider.synced, 'the second sync');
    expect(w.server.hellos.at(-1)?.since).toBe(since);
    expect(receipts).toEqual([]);
    const next = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Sam 2' }));
    w.server.relay(next);
    await until(() => receipts.length > 0, 'Sam’s next edit');
    expect(receipts).toEqual([next]);
    expect(nameOf(second, 1)).toBe('Sam 2');
    expect(second.setAside()).toEqual([]);
  });

  it('keeps an edit made offline across a reload and sends it after it exactly once', async () => {
    const w = await sessionWorld();
    await synced(w);
    const offline = await pageOf(w, opened, { connect: false });
    const saved: boolean[] = [];
    offline.on('saved', (s) => saved.push(s));
    setDisplayName(offline.replica.doc, { partnerId: ALEX, displayName: 'Offline' });
    expect(offline.waiting).toBe(1);
    expect(offline.savedOnDevice).toBe(false);
    await offline.flush();
    expect(offline.savedOnDevice).toBe(true);
    expect(saved).toEqual([false, true]);
    await offline.destroy();
    expect(w.server.sockets).toHaveLength(1); // the first page's
    const before = w.space.log.entries.length;

    const online = await pageOf(w, opened);
    expect(nameOf(online, 0)).toBe('Offline');
    expect(online.waiting).toBe(1);
    await until(() => online.provider.synced && online.waiting === 0, 'the outbox to go');
    expect(w.space.log.entries.length).toBe(before + 1);
    await online.destroy();

    const again = await pageOf(w, opened);
    expect(again.waiting).toBe(0);
    await until(() => again.provider.synced, 'the third sync');
    expect(w.server.sockets.at(-1)?.submitted()).toEqual([]);
    expect(w.space.log.entries.length).toBe(before + 1);
    expectSamReads(w, 'Offline');
  });

  it('holds a change still being signed on flush, as a page that may be going away does, and sends it once', async () => {
    const w = await sessionWorld();
    // As a page opens a space: what holds changes is loaded with its first change, not at once.
    const page = await SealedSession.open(pageOptions(w));
    opened.push(page);
    await until(() => page.provider.synced && page.waiting === 0, 'the sync');
    expect(page.membership.identity.signing.secretKey).toBeNull();
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'First' });
    await until(() => page.waiting === 0, 'the first change');
    const before = w.space.log.entries.length;
    // The platform takes its time, as on a busy phone.
    slowPlatformSigning(200);
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'Just before' });
    await page.flush();
    // Only the platform can sign, and it has not yet: the change is held, for this page or the next.
    const stored = await storedOf(w);
    expect(stored.outbox).toEqual([]);
    expect([...stored.held.values()].flat()).toHaveLength(1);
    // The page goes on: it seals what it holds, and the first signature, late, adds nothing.
    await until(() => page.waiting === 0, 'the held change to go');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(w.space.log.entries.slice(before).map(kindOf)).toEqual([EnvelopeKind.update]);
    expect((await storedOf(w)).held.size).toBe(0);
    expectSamReads(w, 'Just before');
  });

  it('is not saved on the device while a change waits for its signature, and closing waits for it', async () => {
    const w = await sessionWorld();
    await synced(w);
    // Nothing is held (no locks to agree on it), as in a browser without Web Locks.
    const page = await SealedSession.open(pageOptions(w, { connect: false, locks: null }));
    opened.push(page);
    const saved: boolean[] = [];
    page.on('saved', (now) => saved.push(now));
    slowPlatformSigning(50);
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'Signed late' });
    expect(page.savedOnDevice).toBe(false);
    expect(saved).toEqual([false]);
    await page.destroy();
    expect(saved).toEqual([false, true]);
    const stored = await storedOf(w);
    expect(stored.outbox.map((e) => kindOf(e.envelope))).toEqual([EnvelopeKind.update]);
    const next = await pageOf(w, opened, { connect: false });
    expect(nameOf(next, 0)).toBe('Signed late');
  });

  it('does not hang on a platform that never signs: flushing and closing give up waiting', async () => {
    const w = await sessionWorld();
    await synced(w);
    const page = await SealedSession.open(pageOptions(w, { connect: false, locks: null }));
    opened.push(page);
    vi.spyOn(globalThis.crypto.subtle, 'sign').mockReturnValue(new Promise(() => {}));
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'Never signed' });
    // Each gives up after SIGNED_WAIT_MS (2 s); waiting forever would time the test out.
    await page.flush();
    await page.destroy();
    // Truthfully: the change was never signed, so it is not saved on the device.
    expect(page.savedOnDevice).toBe(false);
  }, 15_000);

  it('seals a change made between reading the local copy and opening the session, as its own stream', async () => {
    const w = await sessionWorld();
    await synced(w);
    // A screen shown from the local copy while the sync code loads: a person (or the page)
    // writes before any provider is attached.
    const doc = new Y.Doc();
    const local = await openLocalCopy(spaceId, doc, { indexedDB: w.factory });
    const writer = doc.clientID;
    setDisplayName(doc, { partnerId: ALEX, displayName: 'Written early' });
    const session = await pageOf(w, opened, { doc, local });
    expect(session.replica.doc.clientID).toBe(writer);
    await until(() => session.provider.synced && session.waiting === 0, 'the early change to go');
    // Sam's device takes it in like any other: nothing set aside, and the name arrived.
    expectSamReads(w, 'Written early');
    // Later changes continue the same stream.
    setDisplayName(doc, { partnerId: ALEX, displayName: 'Written later' });
    await until(() => session.waiting === 0, 'the later change');
    expectSamReads(w, 'Written later');
  });

  it('opens what it received before from the device alone, without a socket', async () => {
    const w = await sessionWorld();
    const first = await pageOf(w, opened);
    await until(() => first.provider.synced, 'the first sync');
    const seq = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Away' }));
    w.server.relay(seq);
    await until(() => nameOf(first, 1) === 'Away', 'Sam’s edit');
    await first.destroy();

    const offline = await pageOf(w, opened, {
      connect: false,
      openSocket: () => {
        throw new Error('no socket may be opened');
      },
    });
    expect(nameOf(offline, 1)).toBe('Away');
    expect(offline.replica.since).toBe(seq);
    expect(offline.provider.status.kind).toBe('disconnected');
  });

  it('keeps what it set aside across a reload', async () => {
    const w = await sessionWorld();
    const first = await pageOf(w, opened);
    await until(() => first.provider.synced, 'the first sync');
    const seq = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: 'Changed' }));
    const stored = w.space.log.entries[seq - 1]!;
    stored[stored.length - 80]! ^= 1;
    w.server.relay(seq);
    await until(() => first.setAside().length === 1, 'the set-aside');
    await first.destroy();

    const second = await pageOf(w, opened, { connect: false });
    expect(second.setAside()).toEqual(first.setAside());
    expect(second.setAside()[0]?.reason).toBe('forged');
  });

  it('leaves the document and outbox agreeing with the server whenever the page dies', async () => {
    // A platform without Ed25519: the device keeps its key's bytes and signs at once, so each
    // change is written with its envelope in the tick it is made. A key the platform holds
    // alone is in SealedSession.held.test.ts ("holds what waits for the platform's signature").
    noPlatformSigning();
    for (const ticks of [0, 1, 2, 3, 5, 8, 13, 21, 34, 60]) {
      const w = await sessionWorld();
      const connections: IDBDatabase[] = [];
      const page = await pageOf(w, opened, { indexedDB: watching(w.factory, connections) });
      await until(() => page.provider.synced, 'the first sync');
      // A burst that is not awaited: own edits (sealed, sent, acked) and the partner's.
      for (let i = 0; i < 4; i++) {
        setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: `A${i}` });
        const seq = w.sam.edit((d) => setDisplayName(d, { partnerId: SAM, displayName: `S${i}` }));
        w.server.relay(seq);
      }
      for (let t = 0; t < ticks; t++) await new Promise((resolve) => setTimeout(resolve, 0));
      // The page dies: what it started is written, nothing after.
      page.disconnect();
      for (const db of connections) db.close();

      const reloaded = await pageOf(w, opened);
      await until(() => reloaded.provider.synced && reloaded.waiting === 0, 'the reload');
      w.sam.sync();
      expect(json(reloaded.replica.doc), `dead after ${ticks}`).toEqual(json(w.sam.doc));
      expect(nameOf(reloaded, 0)).toBe('A3');
      expect(reloaded.setAside()).toEqual([]);
      expect(w.sam.replica.setAside).toEqual([]);
    }
  });

  it('keeps working in memory when the store fails, and says so', async () => {
    const w = await sessionWorld();
    await synced(w);
    const connections: IDBDatabase[] = [];
    const page = await pageOf(w, opened, {
      connect: false,
      indexedDB: watching(w.factory, connections),
    });
    const problems: LocalStoreError[] = [];
    page.on('storage-problem', (error) => problems.push(error));
    for (const db of connections) db.close();
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'In memory' });
    setDisplayName(page.replica.doc, { partnerId: ALEX, displayName: 'Still' });
    await page.flush();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBeInstanceOf(LocalStoreError);
    expect(page.savedOnDevice).toBe(false);
    expect(page.waiting).toBe(2);
    expect(nameOf(page, 0)).toBe('Still');
  });

  it('starts the log again from the server when its stored state cannot be read', async () => {
    const w = await sessionWorld();
    await synced(w);
    const head = w.space.log.entries.length;
    const garbled = { since: head, state: Uint8Array.of(1, 2, 3) };
    await rawPut(w.factory, databaseName(spaceId), StoreName.meta, garbled, MetaKey.replica);
    const page = await pageOf(w, opened);
    expect(page.replica.since).toBe(0);
    expect(nameOf(page, 1)).toBe('Sam'); // the document is stored apart from it
    await until(() => page.provider.synced, 'the sync from 0');
    expect(w.server.hellos.at(-1)?.since).toBe(0);
    expect(page.replica.since).toBe(head);
    expect(page.setAside()).toEqual([]);
  });

  it('hands the signing key to the platform on first open: no bytes of it are kept after', async () => {
    const w = await sessionWorld();
    const seed = w.membership.identity.signing.secretKey!;
    const { publicKey } = w.membership.identity.signing;
    expect(decodeMembership((await storedOf(w)).secrets!).identity.signing.secretKey).toEqual(seed);
    const first = await pageOf(w, opened);
    expect(first.membership.identity.signing).toMatchObject({ publicKey, secretKey: null });
    const stored = await storedOf(w);
    expect(includes(stored.secrets!, seed)).toBe(false);
    expect(decodeMembership(stored.secrets!).identity.signing).toEqual({
      publicKey,
      secretKey: null,
    });
    expect(stored.signingKey?.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('jwk', stored.signingKey!)).rejects.toThrow();
    await until(() => first.provider.synced, 'the first sync');
    setDisplayName(first.replica.doc, { partnerId: ALEX, displayName: 'Signed by the platform' });
    await until(() => first.waiting === 0, 'the change');
    await first.destroy();

    // The next page signs with the stored key, as the same device.
    const second = await pageOf(w, opened);
    expect(second.membership.identity.signing.platformKey).toBeInstanceOf(CryptoKey);
    await until(() => second.provider.synced, 'the second sync');
    setDisplayName(second.replica.doc, { partnerId: ALEX, displayName: 'Still this device' });
    await until(() => second.waiting === 0, 'the next change');
    expectSamReads(w, 'Still this device');
  });

  it('keeps the platform’s key with a membership saved again, and lets it go for new keys', async () => {
    const w = await sessionWorld();
    const first = await pageOf(w, opened, { connect: false });
    const held = first.membership;
    await first.destroy();
    // Saved again as it is (a seat taken back does, with the new epoch's key): the key stays.
    await SealedSession.saveMembership(held, { indexedDB: w.factory });
    const again = await pageOf(w, opened, { connect: false });
    expect(again.membership.identity.signing).toMatchObject({
      publicKey: held.identity.signing.publicKey,
      secretKey: null,
    });
    await again.destroy();
    // New keys for the space on this browser: the stored key goes with the secrets it belonged to.
    const fresh = { ...held, identity: newDeviceIdentity() };
    await SealedSession.saveMembership(fresh, { indexedDB: w.factory });
    expect((await storedOf(w)).signingKey).toBeNull();
    const third = await pageOf(w, opened, { connect: false });
    expect(third.membership.identity.signing).toMatchObject({
      publicKey: fresh.identity.signing.publicKey,
      secretKey: null,
    });
  });

  it('keeps the key’s bytes where the platform has no Ed25519', async () => {
    const w = await sessionWorld();
    noPlatformSigning();
    const page = await pageOf(w, opened, { connect: false });
    expect(page.membership.identity.signing).toEqual(w.membership.identity.signing);
    const stored = await storedOf(w);
    expect(stored.signingKey).toBeNull();
    expect(decodeMembership(stored.secrets!).identity).toEqual(w.membership.identity);
  });

  it('refuses to open with a signing key that is missing or another device’s, and says why', async () => {
    const w = await sessionWorld();
    await (await pageOf(w, opened, { connect: false })).destroy();
    const name = databaseName(spaceId);
    const other = await platformSigningKeys(newDeviceIdentity().signing);
    await rawPut(w.factory, name, StoreName.meta, other!.platformKey, MetaKey.signingKey);
    const swapped = await SealedSession.open(pageOptions(w)).catch((e: unknown) => e);
    expect(swapped).toBeInstanceOf(SealedError);
    expect((swapped as SealedError).reason).toBe(SealedErrorReason.badKey);
    await rawDelete(w.factory, name, StoreName.meta, MetaKey.signingKey);
    const missing = await SealedSession.open(pageOptions(w)).catch((e: unknown) => e);
    expect((missing as SealedError).reason).toBe(SealedErrorReason.badKey);
    expect((missing as SealedError).message).toMatch(/signing key/);
  });

  it('refuses to open a space this device holds no keys for, and creates nothing', async () => {
    const factory = new FakeIDBFactory();
    const opening = SealedSession.open({
      spaceId,
      doc: new Y.Doc(),
      awareness: null,
      openSocket: () => {
        throw new Error('no socket');
      },
      indexedDB: factory,
    });
    await expect(opening).rejects.toThrow(SealedError);
    await opening.catch((error: SealedError) => {
      expect(error.reason).toBe(SealedErrorReason.noSecrets);
    });
    expect(await LocalSpaceStore.exists(spaceId, { indexedDB: factory })).toBe(false);
  });

  it('forgets the space: the database is gone', async () => {
    const w = await sessionWorld();
    const page = await pageOf(w, opened, { connect: false });
    await page.destroy();
    await SealedSession.forget(spaceId, { indexedDB: w.factory });
    expect(await LocalSpaceStore.exists(spaceId, { indexedDB: w.factory })).toBe(false);
  });
});
