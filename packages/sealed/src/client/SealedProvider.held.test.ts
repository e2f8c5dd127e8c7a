import { getSpace, setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind, SealedMessage, type ServerMessage } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { sha256, signSoon } from '../crypto.js';
import { sealEnvelope } from '../envelopes.js';
import type { OutboxEntry } from '../local/records.js';
import { StreamWriter } from '../StreamWriter.js';
import {
  memoryHeld,
  type HeldChanges,
  type HeldSealOutcome,
  type HeldSource,
} from './heldChanges.js';
import { Outbox } from './Outbox.js';
import { SealedProvider } from './SealedProvider.js';
import { STORED } from './SealedReplica.js';
import { FakeSocket } from './testing/fakeServer.js';
import { ALEX, createdAndJoined, SAM, type Device, type Space } from './testing/sealedSpace.js';

// What a provider writes while it is not connected is held and sealed as one envelope of its
// stream once the socket opens (docs/protocol.md, "Changes made offline").

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function providerFor(
  device: Device,
  more: Partial<ConstructorParameters<typeof SealedProvider>[0]> = {},
) {
  const sockets: FakeSocket[] = [];
  const provider = new SealedProvider({
    replica: device.replica,
    awareness: null,
    identity: device.identity,
    keyring: device.keyring,
    outbox: new Outbox(),
    partnerId: device.partnerId,
    openSocket: () => {
      const socket = new FakeSocket();
      sockets.push(socket);
      return socket;
    },
    reconnectDelay: () => null,
    connect: false,
    held: memoryHeld(),
    ...more,
  });
  providers.push(provider);
  /** Opens a socket and serves it the log from what the device holds. */
  const online = (space: Space) => {
    provider.connect();
    const socket = sockets.at(-1)!;
    socket.open();
    socket.serve(backlogAfter(space, device.replica.since));
    return socket;
  };
  // Loaded on demand in a page; here before anything is written.
  await provider.holdingReady();
  return { provider, sockets, online };
}

function backlogAfter(space: Space, since: number): ServerMessage {
  const entries = space.log.entries.map((envelope, i) => ({ seq: i + 1, envelope })).slice(since);
  return { type: SealedMessage.backlog, head: space.log.entries.length, last: true, entries };
}

/** Lets answers given as promises (a lock taken) arrive. */
const settledPromises = () => new Promise((resolve) => setTimeout(resolve, 0));

function rename(doc: Y.Doc, ...names: string[]): void {
  for (const displayName of names) setDisplayName(doc, { partnerId: ALEX, displayName });
}

/** Stores what the server would: appends the device's envelopes, in order, and acks them. */
function store(space: Space, socket: FakeSocket, envelopes: readonly Uint8Array[]): void {
  for (const envelope of envelopes) {
    const { stream, counter } = decodeEnvelope(envelope);
    const seq = space.log.append(envelope);
    socket.serve({ type: SealedMessage.ack, stream, counter, seq });
  }
}

function sourceOf(changes: HeldChanges): HeldSource {
  return { earlier: changes.earlier, load: () => Promise.resolve(changes) };
}

/** Held changes whose writes the test settles (or, `stored`, are stored at once), recorded. */
function recordedHeld(earlier = new Map<number, Uint8Array[]>(), stored = false) {
  const held: { stream: number; update: Uint8Array }[] = [];
  const seals: {
    stream: number;
    count: number;
    entries: readonly OutboxEntry[];
    settle: (outcome: HeldSealOutcome) => void;
  }[] = [];
  const changes: HeldChanges = {
    earlier,
    own: () => true,
    hold: (stream, update) => held.push({ stream, update }),
    seal: (stream, count, entries, settle) => {
      seals.push({ stream, count, entries, settle });
      if (stored) settle('stored');
    },
  };
  return { changes: sourceOf(changes), held, seals };
}

/**
 * Another tab of Alex's device, still open, wrote a change offline with its own client id and
 * holds it; this page loaded it from the store (into the device's document) as an earlier
 * page's held change. The tab's lock keeps it from this page until `close()`.
 */
async function otherTab(alex: Device) {
  const tab = new Y.Doc();
  Y.applyUpdate(tab, Y.encodeStateAsUpdate(alex.doc));
  const before = Y.encodeStateVector(tab);
  setDisplayName(tab, { partnerId: ALEX, displayName: 'From the other tab' });
  const update = Y.encodeStateAsUpdate(tab, before);
  Y.applyUpdate(alex.doc, update, STORED);
  let open = true;
  const { changes, seals } = recordedHeld(new Map([[tab.clientID, [update]]]), true);
  const loaded = await changes.load();
  const held = sourceOf({
    ...loaded,
    own: (stream) => Promise.resolve(stream !== tab.clientID || !open),
  });
  return {
    stream: tab.clientID,
    held,
    seals,
    close: () => {
      open = false;
    },
    /** The tab's change as that tab seals it: the first envelope of its stream. */
    sealed: () =>
      sealEnvelope({
        identity: alex.identity,
        keyring: alex.keyring,
        kind: EnvelopeKind.update,
        ...new StreamWriter(tab.clientID).next(),
        payload: update,
      }).bytes,
  };
}

describe('SealedProvider, changes made while not connected', () => {
  it('seals what was written offline as one envelope when the socket opens', async () => {
    const { space, alex, sam } = createdAndJoined();
    const { provider, sockets, online } = await providerFor(alex);
    rename(provider.doc, 'One', 'Two', 'Three');
    expect(provider.waiting).toBe(3);
    expect(sockets).toEqual([]);
    const socket = online(space);
    const submitted = socket.submitted();
    expect(submitted.map((e) => decodeEnvelope(e).counter)).toEqual([1]);
    expect(provider.waiting).toBe(1);
    store(space, socket, submitted);
    expect(provider.waiting).toBe(0);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('seals every change made while connected at once, one envelope each, as before', async () => {
    const { space, alex } = createdAndJoined();
    const { provider, online } = await providerFor(alex);
    const socket = online(space);
    rename(provider.doc, 'One');
    expect(socket.submitted()).toHaveLength(1);
    rename(provider.doc, 'Two', 'Three');
    expect(socket.submitted().map((e) => decodeEnvelope(e).counter)).toEqual([1, 2, 3]);
  });

  it('goes on holding after a disconnect, and continues the stream where it stood', async () => {
    const { space, alex, sam } = createdAndJoined();
    const { provider, online } = await providerFor(alex);
    const first = online(space);
    rename(provider.doc, 'Online');
    store(space, first, first.submitted());
    provider.disconnect();
    rename(provider.doc, 'Off 1', 'Off 2');
    expect(first.submitted()).toHaveLength(1);
    const second = online(space);
    const [envelope, ...more] = second.submitted();
    expect(more).toEqual([]);
    const header = decodeEnvelope(envelope!);
    expect([header.counter, header.prev]).toEqual([2, sha256(first.submitted()[0]!)]);
    store(space, second, [envelope!]);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('seals held changes after a change still being signed, both by the platform, in order', async () => {
    const { space, alex, sam } = createdAndJoined();
    const keys = alex.identity.signing;
    signSoon(keys, new Uint8Array(0));
    await vi.waitFor(() => expect(signSoon(keys, new Uint8Array(0))).not.toBeNull());
    const { provider, online } = await providerFor(alex);
    online(space);
    const subtle = globalThis.crypto.subtle;
    const real = subtle.sign.bind(subtle);
    // What the device counts as waiting while each envelope is being signed.
    const waitingWhileSigning: number[] = [];
    const platform = vi.spyOn(subtle, 'sign').mockImplementation((...args) => {
      queueMicrotask(() => waitingWhileSigning.push(provider.waiting));
      return real(...args);
    });
    rename(provider.doc, 'Online, being signed');
    provider.disconnect();
    rename(provider.doc, 'Off 1', 'Off 2');
    const second = online(space);
    expect(provider.waiting).toBe(3);
    await vi.waitFor(() => expect(second.submitted()).toHaveLength(2));
    const [online1, held] = second.submitted().map(decodeEnvelope);
    expect([online1!.counter, held!.counter]).toEqual([1, 2]);
    expect(held!.prev).toEqual(sha256(second.submitted()[0]!));
    expect(platform).toHaveBeenCalledTimes(2);
    // The held changes count once, as held, while their envelope is signed.
    expect(waitingWhileSigning).toEqual([3, 3]);
    store(space, second, second.submitted());
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('splits what it held into envelopes of about heldPerEnvelope bytes, chained in order', async () => {
    const { space, alex, sam } = createdAndJoined();
    const { provider, online } = await providerFor(alex, { heldPerEnvelope: 200 });
    const names = Array.from({ length: 12 }, (_, i) => `Name number ${i} `.repeat(3));
    rename(provider.doc, ...names);
    const socket = online(space);
    const envelopes = socket.submitted();
    expect(envelopes.length).toBeGreaterThan(1);
    expect(envelopes.length).toBeLessThan(12);
    expect(envelopes.map((e) => decodeEnvelope(e).counter)).toEqual(envelopes.map((_, i) => i + 1));
    store(space, socket, envelopes);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('sends held changes only once the store has their envelope, and holds what comes meanwhile', async () => {
    const { space, alex, sam } = createdAndJoined();
    const { changes, held, seals } = recordedHeld();
    const { provider, online } = await providerFor(alex, { held: changes });
    rename(provider.doc, 'Off 1', 'Off 2');
    expect(held.map((h) => h.stream)).toEqual([provider.doc.clientID, provider.doc.clientID]);
    const socket = online(space);
    expect(seals.map((s) => [s.count, s.entries.length])).toEqual([[2, 1]]);
    expect(socket.submitted()).toEqual([]);
    // Typed while the envelope is being stored: held too, so it cannot overtake it.
    rename(provider.doc, 'Meanwhile');
    expect(held).toHaveLength(3);
    expect(socket.submitted()).toEqual([]);
    seals[0]!.settle('stored');
    expect(socket.submitted()).toEqual(seals[0]!.entries.map((e) => e.envelope));
    expect(seals.map((s) => s.count)).toEqual([2, 1]);
    seals[1]!.settle('stored');
    const sent = socket.submitted();
    expect(sent.map((e) => decodeEnvelope(e).counter)).toEqual([1, 2]);
    expect(provider.waiting).toBe(2);
    // Caught up: the next change goes at once.
    rename(provider.doc, 'Online');
    expect(socket.submitted()).toHaveLength(3);
    expect(held).toHaveLength(3);
    store(space, socket, socket.submitted());
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('seals an earlier page’s held changes once synced, after its stream’s last envelope, without what the log holds', async () => {
    const { space, alex, sam } = createdAndJoined();
    // An earlier page of Alex's device: a change sent online, three held offline and sealed
    // one by one, of which only the first reached the server before the page was gone; its
    // store still held all three (a write that failed).
    const { changes: kept, held } = recordedHeld(new Map(), true);
    const page = await providerFor(alex, { held: kept, heldPerEnvelope: 1 });
    const stream = page.provider.doc.clientID;
    const first = page.online(space);
    rename(alex.doc, 'Online');
    store(space, first, first.submitted());
    page.provider.disconnect();
    rename(alex.doc, 'Held 1', 'Held 2', 'Held 3');
    const second = page.online(space);
    expect(second.submitted()).toHaveLength(3);
    store(space, second, second.submitted().slice(0, 1));
    page.provider.destroy();
    expect(held.map((h) => h.stream)).toEqual([stream, stream, stream]);

    // The next page: the document holds everything (the store's updates).
    const { changes, seals } = recordedHeld(new Map([[stream, held.map((h) => h.update)]]));
    const next = await providerFor(alex, { held: changes });
    expect(next.provider.doc.clientID).not.toBe(stream);
    expect(next.provider.waiting).toBe(3);
    next.provider.connect();
    const socket = next.sockets[0]!;
    socket.open();
    expect(seals).toEqual([]); // where the stream stands is known once the log is in
    socket.serve(backlogAfter(space, alex.replica.since));
    expect(seals.map((s) => [s.stream, s.count, s.entries.length])).toEqual([[stream, 3, 1]]);
    const envelope = decodeEnvelope(seals[0]!.entries[0]!.envelope);
    expect(envelope.counter).toBe(3);
    expect(envelope.prev).toEqual(sha256(space.log.entries.at(-1)!));
    seals[0]!.settle('stored');
    store(space, socket, socket.submitted());
    expect(next.provider.waiting).toBe(0);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(alex.doc));
  });

  it('forgets an earlier page’s held changes that the log holds whole, sending nothing', async () => {
    const { space, alex } = createdAndJoined();
    const { changes: kept, held } = recordedHeld(new Map(), true);
    const page = await providerFor(alex, { held: kept });
    const stream = page.provider.doc.clientID;
    rename(alex.doc, 'Held 1', 'Held 2');
    const socket = page.online(space);
    store(space, socket, socket.submitted());
    page.provider.destroy();

    const { changes, seals } = recordedHeld(new Map([[stream, held.map((h) => h.update)]]));
    const next = await providerFor(alex, { held: changes });
    const later = next.online(space);
    expect(seals.map((s) => [s.stream, s.count, s.entries.length])).toEqual([[stream, 2, 0]]);
    seals[0]!.settle('stored');
    expect(later.submitted()).toEqual([]);
    expect(next.provider.waiting).toBe(0);
  });

  it('holds its own changes behind those another open page holds, and seals both once that page is gone', async () => {
    const { space, alex, sam } = createdAndJoined();
    const tab = await otherTab(alex);
    const { provider, online } = await providerFor(alex, { held: tab.held });
    await settledPromises();
    const first = online(space);
    await settledPromises();
    expect(tab.seals).toEqual([]);
    // Built on the other tab's change, so it may not reach the log before it.
    rename(provider.doc, 'Mine, after theirs');
    expect(first.submitted()).toEqual([]);
    expect(provider.waiting).toBe(2);

    tab.close();
    provider.disconnect();
    const second = online(space);
    await settledPromises();
    const sent = second.submitted().map((e) => decodeEnvelope(e));
    expect(sent.map((e) => [e.stream, e.counter])).toEqual([
      [tab.stream, 1],
      [provider.doc.clientID, 1],
    ]);
    store(space, second, second.submitted());
    expect(provider.waiting).toBe(0);
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('asks again, while connected, until the other page is gone', async () => {
    vi.useFakeTimers();
    const { space, alex } = createdAndJoined();
    const tab = await otherTab(alex);
    const { provider, online } = await providerFor(alex, { held: tab.held });
    await vi.advanceTimersByTimeAsync(0);
    const socket = online(space);
    rename(provider.doc, 'Mine, after theirs');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(socket.submitted()).toEqual([]);
    tab.close();
    await vi.advanceTimersByTimeAsync(5000);
    const streams = socket.submitted().map((e) => decodeEnvelope(e).stream);
    expect(streams).toEqual([tab.stream, provider.doc.clientID]);
  });

  it('goes on once the log holds what another open page held, without taking it over', async () => {
    const { space, alex, sam } = createdAndJoined();
    const tab = await otherTab(alex);
    const { provider, online } = await providerFor(alex, { held: tab.held });
    await settledPromises();
    const socket = online(space);
    rename(provider.doc, 'Mine, after theirs');
    expect(socket.submitted()).toEqual([]);
    // The other tab sends its change (sealed as that tab seals it); it reaches this page.
    const theirs = tab.sealed();
    socket.serve({ type: SealedMessage.envelope, seq: space.log.append(theirs), envelope: theirs });
    await provider.taken();
    expect(tab.seals.map((seal) => seal.stream)).toEqual([provider.doc.clientID]);
    expect(socket.submitted().map((e) => decodeEnvelope(e).stream)).toEqual([
      provider.doc.clientID,
    ]);
    store(space, socket, socket.submitted());
    sam.sync();
    expect(sam.replica.setAside).toEqual([]);
    expect(getSpace(sam.doc)).toEqual(getSpace(provider.doc));
  });

  it('loads what holds changes only once a change is made offline or a socket closes', async () => {
    const { space, alex } = createdAndJoined();
    const sockets: FakeSocket[] = [];
    const provider = new SealedProvider({
      replica: alex.replica,
      awareness: null,
      identity: alex.identity,
      keyring: alex.keyring,
      outbox: new Outbox(),
      partnerId: alex.partnerId,
      openSocket: () => {
        const socket = new FakeSocket();
        sockets.push(socket);
        return socket;
      },
      reconnectDelay: () => null,
      connect: false,
      held: memoryHeld(),
    });
    providers.push(provider);
    // The first change made offline is sealed at once while the rest loads; later ones wait.
    rename(provider.doc, 'First');
    expect(provider.waiting).toBe(1);
    // Loading started with the first change; it is there once this resolves.
    await provider.holdingReady();
    rename(provider.doc, 'Second', 'Third');
    provider.connect();
    sockets[0]!.open();
    sockets[0]!.serve(backlogAfter(space, alex.replica.since));
    // Signed by the platform where it can, a moment later.
    const counters = () => sockets[0]!.submitted().map((e) => decodeEnvelope(e).counter);
    await vi.waitFor(() => expect(counters()).toEqual([1, 2]));
    await settledPromises();
    expect(counters()).toEqual([1, 2]);
  });

  it('seals every change at once without held changes, as before', async () => {
    const { space, alex } = createdAndJoined();
    const { provider, online } = await providerFor(alex, { held: undefined });
    rename(provider.doc, 'One', 'Two');
    const socket = online(space);
    expect(socket.submitted().map((e) => decodeEnvelope(e).counter)).toEqual([1, 2]);
  });

  it('sends what it seals while the outbox is still being resent after it, not ahead', async () => {
    vi.useFakeTimers();
    const { space, alex } = createdAndJoined();
    alex.sync();
    const outbox = new Outbox();
    for (let i = 0; i < 5; i++) {
      const envelope = alex.sealEdit((doc) =>
        setDisplayName(doc, { partnerId: ALEX, displayName: `A${i}` }),
      );
      outbox.add({
        stream: alex.writer.stream,
        counter: decodeEnvelope(envelope).counter,
        envelope,
      });
    }
    const { provider, sockets } = await providerFor(alex, {
      outbox,
      held: null,
      resendPace: { window: 2, perSecond: 10 },
    });
    provider.connect();
    const socket = sockets[0]!;
    socket.open();
    expect(socket.submitted()).toHaveLength(2);
    store(space, socket, socket.submitted());
    rename(provider.doc, 'Typed now');
    // Three of the outbox still wait their turn: the new envelope goes after them.
    expect(socket.submitted()).toHaveLength(2);
    for (let stored = 2; stored < 6; stored = socket.submitted().length) {
      vi.advanceTimersByTime(1000);
      store(space, socket, socket.submitted().slice(stored));
    }
    const streams = socket.submitted().map((e) => decodeEnvelope(e).stream);
    expect(streams).toEqual([...Array<number>(5).fill(alex.writer.stream), provider.doc.clientID]);
  });

  it('counts held changes among those waiting until their envelope is acknowledged', async () => {
    const { space, sam } = createdAndJoined();
    const { provider, online } = await providerFor(sam);
    setDisplayName(provider.doc, { partnerId: SAM, displayName: 'S' });
    expect(provider.waiting).toBe(1);
    const socket = online(space);
    store(space, socket, socket.submitted());
    expect(provider.waiting).toBe(0);
  });
});
