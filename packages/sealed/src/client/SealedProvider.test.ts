import { checkIn, getSpace, listCheckins, setDisplayName } from '@mend/model';
import { decodeEnvelope, EnvelopeKind, SealedMessage, type ServerMessage } from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Awareness } from 'y-protocols/awareness';
import { sha256 } from '../crypto.js';
import * as Y from 'yjs';
import { Outbox } from './Outbox.js';
import { SealedProvider } from './SealedProvider.js';
import { STORED } from './SealedReplica.js';
import { converted, plaintextSpace } from './testing/conversion.js';
import { FakeSocket } from './testing/fakeServer.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  linkedDevice,
  newSpace,
  presenceByHand,
  providerOptionsOf,
  SAM,
  type Space,
} from './testing/sealedSpace.js';

const providers: SealedProvider[] = [];

afterEach(() => {
  for (const provider of providers.splice(0)) provider.destroy();
  vi.useRealTimers();
});

function providerFor(
  device: Device,
  outbox = new Outbox(),
  more: Partial<ConstructorParameters<typeof SealedProvider>[0]> = {},
) {
  let socket = new FakeSocket();
  const opened: FakeSocket[] = [];
  const provider = new SealedProvider({
    ...providerOptionsOf(device, outbox),
    openSocket: () => {
      if (opened.includes(socket)) socket = new FakeSocket();
      opened.push(socket);
      return socket;
    },
    reconnectDelay: () => null,
    ...more,
  });
  providers.push(provider);
  const events = { tampers: [] as string[], waiting: [] as number[] };
  provider.on('tamper', (detail) => events.tampers.push(detail));
  provider.on('waiting', (count) => events.waiting.push(count));
  return { provider, socket, events, opened };
}

/** The whole log as one backlog. */
function backlogOf(space: Space, leaveOut: readonly number[] = []): ServerMessage {
  const entries = space.log.entries
    .map((envelope, i) => ({ seq: i + 1, envelope }))
    .filter((e) => !leaveOut.includes(e.seq));
  return { type: SealedMessage.backlog, head: space.log.entries.length, last: true, entries };
}

describe('SealedProvider', () => {
  it('moves a document that already wrote to a fresh client id, so its stream starts unclaimed', () => {
    const { space, alex } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    device.sync();
    const used = device.doc.clientID;
    setDisplayName(device.doc, { partnerId: ALEX, displayName: 'Written before' });
    const { provider, socket } = providerFor(device);
    expect(provider.doc.clientID).not.toBe(used);
    socket.open();
    expect(socket.sent[0]).toEqual({
      type: SealedMessage.hello,
      since: device.replica.since,
      stream: provider.doc.clientID,
    });
  });

  it('announces the device once its first backlog is in, and counts what waits for an ack', () => {
    const space = newSpace();
    const creator = new Device(space, ALEX, space.creator);
    const { provider, socket, events } = providerFor(creator);
    socket.open();
    expect(socket.submitted()).toEqual([]);
    socket.serve(backlogOf(space));
    expect(provider.synced).toBe(true);
    const [member] = socket.submitted();
    expect(member?.[1]).toBe(EnvelopeKind.member);
    expect(events.waiting).toEqual([1]);
    const seq = space.log.append(member!);
    socket.serve({ type: SealedMessage.ack, stream: provider.doc.clientID, counter: 1, seq });
    expect(events.waiting).toEqual([1, 0]);
    expect(creator.replica.partnerOf(space.creator.signing.publicKey)).toBe(ALEX);
    expect(creator.replica.since).toBe(seq);
  });

  it('says the server left out a position of a complete backlog, and syncs past it', async () => {
    const { space, alex, sam } = createdAndJoined();
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S1' }));
    const dropped = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S2' }));
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S3' }));
    const fresh = new Device(space, ALEX, alex.identity);
    const { provider, socket, events } = providerFor(fresh);
    socket.open();
    socket.serve(backlogOf(space, [dropped]));
    await provider.taken();
    expect(events.tampers).toEqual([expect.stringMatching(`skipped position ${dropped} of`)]);
    expect(provider.synced).toBe(true);
    expect(fresh.replica.since).toBe(space.log.entries.length);
  });

  it('resends a long outbox a window at once, then at its pace and only while acks come', () => {
    vi.useFakeTimers();
    const { space, alex } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    device.sync();
    const outbox = new Outbox();
    for (let i = 0; i < 8; i++) {
      const envelope = device.sealEdit((doc) =>
        setDisplayName(doc, { partnerId: ALEX, displayName: `A${i}` }),
      );
      outbox.add({ stream: device.writer.stream, counter: i + 1, envelope });
    }
    const { socket } = providerFor(device, outbox, { resendPace: { window: 3, perSecond: 10 } });
    socket.open();
    expect(socket.submitted()).toHaveLength(3);
    vi.advanceTimersByTime(1000);
    expect(socket.submitted()).toHaveLength(3); // a whole window waits for its ack
    socket.serve({ type: SealedMessage.ack, stream: device.writer.stream, counter: 2, seq: 0 });
    vi.advanceTimersByTime(99);
    expect(socket.submitted()).toHaveLength(3);
    vi.advanceTimersByTime(1);
    expect(socket.submitted()).toHaveLength(4);
    vi.advanceTimersByTime(100);
    expect(socket.submitted()).toHaveLength(5);
    vi.advanceTimersByTime(1000);
    expect(socket.submitted()).toHaveLength(5);
    socket.serve({ type: SealedMessage.ack, stream: device.writer.stream, counter: 8, seq: 0 });
    vi.advanceTimersByTime(1000);
    expect(socket.submitted()).toHaveLength(5); // acknowledged meanwhile: nothing left to send
  });

  it('paces envelopes sealed while connected too, once a window is unacknowledged', async () => {
    const { space, alex } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    device.sync();
    const { provider, socket } = providerFor(device, new Outbox(), {
      resendPace: { window: 3, perSecond: 4 },
    });
    socket.open();
    socket.serve(backlogOf(space));
    await provider.taken();
    for (let i = 0; i < 5; i++) {
      setDisplayName(provider.doc, { partnerId: ALEX, displayName: `Alex ${i}` });
    }
    await vi.waitFor(() => expect(provider.waiting).toBe(5));
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(3));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(socket.submitted()).toHaveLength(3); // a whole window waits for its ack
    const [first] = socket.submitted().map(decodeEnvelope);
    socket.serve({ type: SealedMessage.ack, stream: first!.stream, counter: 1, seq: 0 });
    await vi.waitFor(() => expect(socket.submitted()).toHaveLength(4));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(socket.submitted()).toHaveLength(4); // three unacknowledged again
  });

  it('writes a snapshot of the sequenced log once enough is logged, which a fresh device takes in', async () => {
    const { space, alex, sam } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    device.sync();
    const since = device.replica.since;
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S1' }));
    const { provider, socket } = providerFor(device, new Outbox(), { snapshotEvery: 3 });
    socket.open();
    setDisplayName(provider.doc, { partnerId: ALEX, displayName: 'Not stored yet' });
    socket.serve(
      backlogOf(
        space,
        [...space.log.entries.keys()].slice(0, since).map((i) => i + 1),
      ),
    );
    await provider.taken();
    const head = space.log.entries.length;
    // Signed by the platform a moment later.
    await vi.waitFor(() => expect(socket.snapshots()).toHaveLength(1));
    const [snapshot] = socket.snapshots();
    const envelope = decodeEnvelope(snapshot!);
    expect(envelope.kind).toBe(EnvelopeKind.snapshot);
    expect(envelope.counter).toBe(0);
    expect(envelope.covers).toEqual({ seq: head, hash: sha256(space.log.entries[head - 1]!) });
    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(head, snapshot!)).toEqual({ kind: 'snapshot' });
    expect(fresh.replica.since).toBe(head);
    expect(getSpace(fresh.doc)).toEqual(getSpace(sam.doc));
  });

  it('counts from the last snapshot it knows of, and tries again a threshold later after a refusal', async () => {
    const { space, alex, sam } = createdAndJoined();
    const { provider, socket } = providerFor(new Device(space, ALEX, alex.identity), new Outbox(), {
      snapshotEvery: 3,
    });
    socket.open();
    socket.serve(backlogOf(space));
    await provider.taken();
    // Signed by the platform a moment later; a snapshot not written stays unsent however long.
    const sent = async (n: number) => {
      await vi.waitFor(() => expect(socket.snapshots()).toHaveLength(n));
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(socket.snapshots()).toHaveLength(n);
    };
    await sent(1);
    const covered = space.log.entries.length;
    const more = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const seq = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: `${i}` }));
        socket.serve({ type: SealedMessage.envelope, seq, envelope: space.log.entries[seq - 1]! });
      }
      await provider.taken();
    };
    await more(3);
    await sent(1); // the first is still unanswered
    socket.serve({
      type: SealedMessage.snapshotResult,
      coversSeq: covered,
      stored: false,
      reason: 'stale',
    });
    await provider.taken();
    await sent(2); // three after the refused one
    socket.serve({
      type: SealedMessage.snapshotResult,
      coversSeq: covered + 3,
      stored: true,
      reason: '',
    });
    await more(2);
    await sent(2);
    await more(1);
    await sent(3);
  });

  it('hands its outbox storage each update with its envelope, and null for a member statement', () => {
    const space = newSpace();
    const creator = new Device(space, ALEX, space.creator);
    const put: { counter: number; update: Uint8Array | null }[] = [];
    const outbox = new Outbox([], {
      put: (entry, update) => put.push({ counter: entry.counter, update }),
      drop: () => {},
    });
    const { provider, socket } = providerFor(creator, outbox);
    socket.open();
    socket.serve(backlogOf(space));
    const updates: Uint8Array[] = [];
    provider.doc.on('update', (update: Uint8Array) => updates.push(update));
    provider.doc.getMap('m').set('k', 'v');
    expect(put).toEqual([
      { counter: 1, update: null },
      { counter: 2, update: updates[0] },
    ]);
  });

  it('waits for connect() when built with connect: false, and never seals what is STORED', () => {
    const { space, alex } = createdAndJoined();
    const device = new Device(space, ALEX, alex.identity);
    const { provider, opened } = providerFor(device, new Outbox(), { connect: false });
    expect(opened).toEqual([]);
    expect(provider.status.kind).toBe('disconnected');
    Y.applyUpdate(provider.doc, Y.encodeStateAsUpdate(alex.doc), STORED);
    expect(provider.waiting).toBe(0);
    provider.connect();
    provider.connect(); // a socket is opening: nothing more
    expect(opened).toHaveLength(1);
    expect(provider.status.kind).toBe('connecting');
  });

  it('stays closed after disconnect() until connect(), which opens at once and counts attempts anew', () => {
    vi.useFakeTimers();
    const { space, alex } = createdAndJoined();
    const attempts: number[] = [];
    const { provider, socket, opened } = providerFor(
      new Device(space, ALEX, alex.identity),
      new Outbox(),
      {
        reconnectDelay: (attempt) => (attempts.push(attempt), 1000),
      },
    );
    socket.open();
    const statuses: string[] = [];
    provider.on('status', (s) => statuses.push('code' in s ? `${s.kind} ${s.code}` : s.kind));
    provider.disconnect();
    expect(socket.readyState).toBe(3);
    expect(statuses).toEqual(['disconnected 1000']);
    vi.advanceTimersByTime(60_000);
    expect(opened).toHaveLength(1);
    expect(attempts).toEqual([]);

    provider.connect();
    expect(opened).toHaveLength(2);
    opened[1]!.close(1006);
    expect(attempts).toEqual([1]);
    // A retry is scheduled; connect() does not wait for it, and the count starts again.
    provider.connect();
    expect(opened).toHaveLength(3);
    vi.advanceTimersByTime(5000);
    expect(opened).toHaveLength(3);
    opened[2]!.close(1006);
    expect(attempts).toEqual([1, 1]);
  });

  it('connects again on connect() after reconnectDelay said stop', () => {
    const { space, alex } = createdAndJoined();
    const { provider, socket, opened } = providerFor(new Device(space, ALEX, alex.identity));
    socket.open();
    socket.close(4409, 'conflict');
    expect(provider.status).toEqual({ kind: 'disconnected', code: 4409, reason: 'conflict' });
    provider.connect();
    expect(opened).toHaveLength(2);
    opened[1]!.open();
    expect(opened[1]!.sent[0]).toMatchObject({ type: SealedMessage.hello });
  });

  it('carries the plaintext copy over once, right after announcing the device, and says so', async () => {
    const { alexPlain, samPlain } = plaintextSpace();
    checkIn(samPlain, { partnerId: SAM, date: '2026-11-09', safety: 4, state: 'alert', at: 1 });
    const { space, alex } = converted(alexPlain);
    const sam = new Device(space, SAM);
    Y.applyUpdate(sam.doc, Y.encodeStateAsUpdate(samPlain), STORED);
    const puts: (Uint8Array | null)[] = [];
    const outbox = new Outbox([], { put: (_entry, update) => puts.push(update), drop: () => {} });
    const { provider, socket } = providerFor(sam, outbox, {
      carry: Y.encodeStateAsUpdate(samPlain),
    });
    const carried: boolean[] = [];
    provider.on('carried', (sealed) => carried.push(sealed));
    socket.open();
    expect(socket.submitted()).toEqual([]);
    socket.serve(backlogOf(space));
    await provider.taken();
    const [member, carriedEnvelope, ...rest] = socket.submitted().map((b) => decodeEnvelope(b));
    expect(rest).toEqual([]);
    expect([member?.kind, member?.counter]).toEqual([EnvelopeKind.member, 1]);
    expect([carriedEnvelope?.kind, carriedEnvelope?.counter]).toEqual([EnvelopeKind.carried, 2]);
    expect(carriedEnvelope?.stream).toBe(member?.stream);
    expect(carried).toEqual([true]);
    // The document holds the changes already: the store keeps the envelope alone.
    expect(puts).toEqual([null, null]);
    // Once, whatever comes next.
    socket.close(1006);
    provider.connect();
    expect(carried).toEqual([true]);

    for (const envelope of socket.submitted()) space.log.append(envelope);
    alex.sync();
    expect(alex.replica.setAside).toEqual([]);
    expect(listCheckins(alex.doc).map((c) => c.partnerId)).toEqual([SAM]);
  });

  it('shows presence that came before the statements making its device a member, once they are in', async () => {
    const { space, alex, sam } = createdAndJoined();
    const awareness = new Awareness(alex.doc);
    const { socket } = providerFor(alex, new Outbox(), { awareness });
    socket.open();
    socket.serve(backlogOf(space));
    const before = space.log.entries.length;
    // Sam's phone says it is here before its link and member statements reach Alex.
    const phone = linkedDevice(sam);
    const stream = phone.doc.clientID;
    const presence = presenceByHand(phone, stream, 1, '{"user":"Sam’s phone"}');
    socket.serve({ type: SealedMessage.presenceRelay, envelope: presence });
    for (let seq = before + 1; seq <= space.log.entries.length; seq++) {
      socket.serve({ type: SealedMessage.envelope, seq, envelope: space.log.entries[seq - 1]! });
    }
    await vi.waitFor(() => expect(alex.replica.since).toBe(space.log.entries.length));
    expect(awareness.getStates().get(stream)).toEqual({ user: 'Sam’s phone' });
    awareness.destroy();
  });

  it('carries nothing when the log holds the whole copy, as on the device that converted', async () => {
    const { alexPlain } = plaintextSpace();
    const { space, alex } = converted(alexPlain);
    const { provider, socket } = providerFor(alex, new Outbox(), {
      carry: Y.encodeStateAsUpdate(alexPlain),
    });
    const carried: boolean[] = [];
    provider.on('carried', (sealed) => carried.push(sealed));
    socket.open();
    socket.serve(backlogOf(space));
    await provider.taken();
    expect(provider.synced).toBe(true);
    expect(socket.submitted()).toEqual([]);
    expect(carried).toEqual([false]);
  });
});
