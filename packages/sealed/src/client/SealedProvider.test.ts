import { getSpace, setDisplayName } from '@mend/model';
import {
  decodeDeviceMessage,
  decodeEnvelope,
  encodeServerMessage,
  EnvelopeKind,
  SealedMessage,
  type DeviceMessage,
  type ServerMessage,
} from '@mend/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sha256 } from '../crypto.js';
import { Outbox } from './Outbox.js';
import { SealedProvider, type SocketLike } from './SealedProvider.js';
import {
  ALEX,
  createdAndJoined,
  Device,
  newSpace,
  SAM,
  type Space,
} from './testing/sealedSpace.js';

/** A socket the test plays the server on: it opens when told and records what was sent. */
class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  readonly sent: DeviceMessage[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  send(data: Uint8Array): void {
    this.sent.push(decodeDeviceMessage(data));
  }

  close(code = 1000, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  serve(message: ServerMessage): void {
    const bytes = encodeServerMessage(message);
    this.onmessage?.({
      data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    });
  }

  snapshots(): Uint8Array[] {
    return this.sent.flatMap((m) => (m.type === SealedMessage.snapshot ? [m.envelope] : []));
  }

  submitted(): Uint8Array[] {
    return this.sent.flatMap((m) => (m.type === SealedMessage.submit ? [m.envelope] : []));
  }
}

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
  const socket = new FakeSocket();
  const provider = new SealedProvider({
    replica: device.replica,
    awareness: null,
    identity: device.identity,
    keyring: device.keyring,
    outbox,
    partnerId: device.partnerId,
    openSocket: () => socket,
    reconnectDelay: () => null,
    ...more,
  });
  providers.push(provider);
  const events = { tampers: [] as string[], waiting: [] as number[] };
  provider.on('tamper', (detail) => events.tampers.push(detail));
  provider.on('waiting', (count) => events.waiting.push(count));
  return { provider, socket, events };
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

  it('says the server left out a position of a complete backlog, and syncs past it', () => {
    const { space, alex, sam } = createdAndJoined();
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S1' }));
    const dropped = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S2' }));
    sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: 'S3' }));
    const fresh = new Device(space, ALEX, alex.identity);
    const { provider, socket, events } = providerFor(fresh);
    socket.open();
    socket.serve(backlogOf(space, [dropped]));
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

  it('writes a snapshot of the sequenced log once enough is logged, which a fresh device takes in', () => {
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
    const head = space.log.entries.length;
    const [snapshot, ...more] = socket.snapshots();
    expect(more).toEqual([]);
    const envelope = decodeEnvelope(snapshot!);
    expect(envelope.kind).toBe(EnvelopeKind.snapshot);
    expect(envelope.counter).toBe(0);
    expect(envelope.covers).toEqual({ seq: head, hash: sha256(space.log.entries[head - 1]!) });
    const fresh = new Device(space, SAM, sam.identity);
    expect(fresh.replica.receive(head, snapshot!)).toEqual({ kind: 'snapshot' });
    expect(fresh.replica.since).toBe(head);
    expect(getSpace(fresh.doc)).toEqual(getSpace(sam.doc));
  });

  it('counts from the last snapshot it knows of, and tries again a threshold later after a refusal', () => {
    const { space, alex, sam } = createdAndJoined();
    const { socket } = providerFor(new Device(space, ALEX, alex.identity), new Outbox(), {
      snapshotEvery: 3,
    });
    socket.open();
    socket.serve(backlogOf(space));
    expect(socket.snapshots()).toHaveLength(1);
    const covered = space.log.entries.length;
    const more = (n: number) => {
      for (let i = 0; i < n; i++) {
        const seq = sam.edit((doc) => setDisplayName(doc, { partnerId: SAM, displayName: `${i}` }));
        socket.serve({ type: SealedMessage.envelope, seq, envelope: space.log.entries[seq - 1]! });
      }
    };
    more(3);
    expect(socket.snapshots()).toHaveLength(1); // the first is still unanswered
    socket.serve({
      type: SealedMessage.snapshotResult,
      coversSeq: covered,
      stored: false,
      reason: 'stale',
    });
    expect(socket.snapshots()).toHaveLength(2); // three after the refused one
    socket.serve({
      type: SealedMessage.snapshotResult,
      coversSeq: covered + 3,
      stored: true,
      reason: '',
    });
    more(2);
    expect(socket.snapshots()).toHaveLength(2);
    more(1);
    expect(socket.snapshots()).toHaveLength(3);
  });
});
