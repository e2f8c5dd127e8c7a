import { randomBytes } from 'node:crypto';
import {
  ENVELOPE_VERSION,
  EnvelopeKind,
  SealedMessage,
  ZERO_HASH,
  decodeServerMessage,
  encodeDeviceMessage,
  encodeEnvelope,
  encodeEnvelopeHeader,
  encodeSignedPart,
  type EnvelopeHeader,
  type ServerMessage,
  type SpaceId,
} from '@mend/protocol';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import { defaultLimits, type Limits } from '../config.js';
import { Metrics } from '../metrics.js';
import type { MembersEnded } from '../pubsub/membersEnded.js';
import { MemoryPubSub } from '../pubsub/MemoryPubSub.js';
import type { PubSub } from '../pubsub/PubSub.js';
import { SpaceBus } from '../pubsub/SpaceBus.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import type { StorageAdapter } from '../storage/StorageAdapter.js';
import { createSealedSpaceWithDevice } from '../storage/storageFixtures.testkit.js';
import { MemorySocket } from '../sync/roomHarness.testkit.js';
import { compactBytes } from './compactBytes.js';
import { envelopeHash } from './sealedInput.js';
import { SealedRoom, type SealedRoomDeps } from './SealedRoom.js';

/**
 * Sealed rooms over in-memory sockets, for unit tests. Envelopes are built with the real codec
 * and filler nonce, ciphertext and signature: the server checks headers, never signatures.
 */

/** An envelope's bytes with the given header fields (epoch 1, filler for the rest). */
export function sealedEnvelope(
  header: Omit<EnvelopeHeader, 'version' | 'epoch' | 'covers'> &
    Partial<Pick<EnvelopeHeader, 'covers'>>,
  ciphertextBytes = 48,
): Uint8Array {
  const headerBytes = encodeEnvelopeHeader({
    version: ENVELOPE_VERSION,
    epoch: 1,
    covers: null,
    ...header,
  });
  const signed = encodeSignedPart(
    headerBytes,
    new Uint8Array(24),
    new Uint8Array(randomBytes(ciphertextBytes)),
  );
  return encodeEnvelope(signed, new Uint8Array(64));
}

/** One device on one socket of a sealed room: its key, its stream and its chain. */
export class TestDevice {
  readonly socket = new MemorySocket();
  /** The envelopes of its chain, in order (index 0 is counter 1). */
  readonly chain: Uint8Array[] = [];
  #presenceCounter = 0;

  constructor(
    readonly room: SealedRoom,
    readonly spaceId: SpaceId,
    readonly key: Uint8Array = new Uint8Array(randomBytes(32)),
    readonly stream: number = randomBytes(4).readUInt32LE(0),
  ) {}

  /** The same device on a new socket (a reload keeps the key, and here the stream). */
  again(room: SealedRoom = this.room): TestDevice {
    const device = new TestDevice(room, this.spaceId, this.key, this.stream);
    device.chain.push(...this.chain);
    return device;
  }

  connect(): boolean {
    return this.room.attach(this.socket, compactBytes(this.key));
  }

  hello(since = 0, stream = this.stream): void {
    this.send(encodeDeviceMessage({ type: SealedMessage.hello, since, stream }));
  }

  /** The next envelope of its chain (kept, so the chain moves on), not sent. */
  next(kind: EnvelopeKind = EnvelopeKind.update, ciphertextBytes = 48): Uint8Array {
    const counter = this.chain.length + 1;
    const last = this.chain.at(-1);
    const envelope = sealedEnvelope(
      {
        kind,
        spaceId: this.spaceId,
        author: this.key,
        stream: this.stream,
        counter,
        prev: last ? envelopeHash(last) : ZERO_HASH,
      },
      ciphertextBytes,
    );
    this.chain.push(envelope);
    return envelope;
  }

  submit(envelope: Uint8Array = this.next()): Uint8Array {
    this.send(encodeDeviceMessage({ type: SealedMessage.submit, envelope }));
    return envelope;
  }

  /** A presence envelope of its stream with a state of `stateBytes` (encrypted, filler). */
  presence(stateBytes = 32): Uint8Array {
    const envelope = sealedEnvelope(
      {
        kind: EnvelopeKind.presence,
        spaceId: this.spaceId,
        author: this.key,
        stream: this.stream,
        counter: ++this.#presenceCounter,
        prev: ZERO_HASH,
      },
      stateBytes + 16,
    );
    this.send(encodeDeviceMessage({ type: SealedMessage.presence, envelope }));
    return envelope;
  }

  /** A snapshot of its stream covering `coversSeq`, whose envelope hashes to `coversHash`. */
  snapshot(coversSeq: number, coversHash: Uint8Array): Uint8Array {
    const envelope = sealedEnvelope({
      kind: EnvelopeKind.snapshot,
      spaceId: this.spaceId,
      author: this.key,
      stream: this.stream,
      counter: 0,
      prev: ZERO_HASH,
      covers: { seq: coversSeq, hash: coversHash },
    });
    this.send(encodeDeviceMessage({ type: SealedMessage.snapshot, envelope }));
    return envelope;
  }

  send(message: Uint8Array): void {
    this.room.receive(this.socket, message);
  }

  disconnect(): void {
    this.socket.close(1000 as never);
    this.room.detach(this.socket);
  }

  /** What the room sent since the last call, decoded. */
  received(): ServerMessage[] {
    return this.socket.take().map(decodeServerMessage);
  }
}

/** The seqs a device was handed, in order: backlog entries, envelopes and acks alike. */
export function seqsOf(messages: readonly ServerMessage[]): number[] {
  const seqs: number[] = [];
  for (const m of messages) {
    if (m.type === SealedMessage.backlog) seqs.push(...m.entries.map((e) => e.seq));
    else if (m.type === SealedMessage.envelope || m.type === SealedMessage.ack) seqs.push(m.seq);
  }
  return seqs;
}

/** Only the messages of one type. */
export function ofType<T extends ServerMessage['type']>(
  messages: readonly ServerMessage[],
  type: T,
): Extract<ServerMessage, { type: T }>[] {
  return messages.filter((m): m is Extract<ServerMessage, { type: T }> => m.type === type);
}

/** Lets every write, relay and bus delivery of `rooms` finish. */
export async function settle(...rooms: SealedRoom[]): Promise<void> {
  for (let i = 0; i < 3; i++) {
    for (const room of rooms) await room.whenIdle();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

export interface SealedSetupOptions {
  limits?: Partial<Limits>;
  maxSpaceBytes?: number;
  /** A MemoryAdapter unless given (another node's, or real storage). */
  storage?: StorageAdapter;
  /** A MemoryPubSub unless given (shared by simulated nodes, or Redis). */
  pubsub?: PubSub;
  /** An existing space (a second node's room on the same storage). */
  spaceId?: SpaceId;
}

/**
 * A test file's sealed rooms, closed after each test. `setup` loads a room over a new sealed
 * space (in a MemoryAdapter unless given one); `device()` makes a device of that room.
 */
export function sealedTestbed() {
  const rooms: SealedRoom[] = [];

  afterEach(async () => {
    for (const room of rooms.splice(0)) await room.close();
  });

  async function setup(options: SealedSetupOptions = {}) {
    const storage = options.storage ?? new MemoryAdapter();
    const spaceId = options.spaceId ?? (await createSealedSpaceWithDevice(storage)).space.spaceId;
    const metrics = new Metrics();
    const pubsub = options.pubsub ?? new MemoryPubSub();
    /** What the room handed to `closeMembers` (the transport's part of another node's message). */
    const closedMembers: MembersEnded[] = [];
    const deps: SealedRoomDeps = {
      storage,
      bus: new SpaceBus(pubsub),
      metrics,
      log: pino({ level: 'silent' }),
      limits: { ...defaultLimits, ...options.limits },
      maxSpaceBytes: options.maxSpaceBytes ?? 256 * 1024 * 1024,
      spaceExists: async (id) => (await storage.getSpace(id)) !== null,
      closeMembers: (ended) => closedMembers.push(ended),
    };
    const room = await SealedRoom.load(spaceId, deps);
    rooms.push(room);
    const device = (key?: Uint8Array, stream?: number): TestDevice => {
      const d = new TestDevice(room, spaceId, key, stream);
      d.connect();
      return d;
    };
    return { room, storage, spaceId, metrics, pubsub, deps, device, closedMembers };
  }

  return { rooms, setup };
}
