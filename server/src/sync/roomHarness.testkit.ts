import type { CloseCode, SpaceId } from '@mend/protocol';
import { MessageType, SyncStep } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import * as awarenessProtocol from 'y-protocols/awareness';
import { afterEach } from 'vitest';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { defaultLimits, type Limits } from '../config.js';
import type { Logger } from '../log.js';
import { Metrics, type RejectReason } from '../metrics.js';
import type { MembersEnded } from '../pubsub/membersEnded.js';
import { MemoryPubSub } from '../pubsub/MemoryPubSub.js';
import { SpaceBus } from '../pubsub/SpaceBus.js';
import { DocStore } from '../storage/DocStore.js';
import { MemoryAdapter } from '../storage/MemoryAdapter.js';
import type { StorageAdapter, UpdateLog } from '../storage/StorageAdapter.js';
import { createBareSpace } from '../testSpaces.testkit.js';
import { Room, spaceStateIn, type RoomDeps } from './Room.js';
import type { RoomSocket } from './RoomSocket.js';

/** A RoomSocket that queues what the room sends until the test delivers it. */
export class MemorySocket implements RoomSocket {
  readonly sent: Uint8Array[] = [];
  closedWith: CloseCode | null = null;

  send(message: Uint8Array): void {
    if (this.closedWith === null) this.sent.push(message);
  }

  close(code: CloseCode): void {
    this.closedWith ??= code;
  }

  take(): Uint8Array[] {
    return this.sent.splice(0);
  }
}

/**
 * A y-websocket client in memory: a Y.Doc and an Awareness speaking to a room through a
 * MemorySocket. Nothing moves until `flush` is called.
 */
export class TestClient {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  readonly socket = new MemorySocket();
  readonly outbox: Uint8Array[] = [];
  #room: Room;

  constructor(room: Room) {
    this.#room = room;
    this.doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === this) return;
      const encoder = encoding.createEncoder();
      encoding.writeVarUint(encoder, MessageType.sync);
      syncProtocol.writeUpdate(encoder, update);
      this.outbox.push(encoding.toUint8Array(encoder));
    });
    this.awareness.on(
      'update',
      ({ added, updated, removed }: Record<string, number[]>, origin: unknown) => {
        if (origin === this) return;
        const changed = [...(added ?? []), ...(updated ?? []), ...(removed ?? [])];
        const encoder = encoding.createEncoder();
        encoding.writeVarUint(encoder, MessageType.awareness);
        encoding.writeVarUint8Array(
          encoder,
          awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed),
        );
        this.outbox.push(encoding.toUint8Array(encoder));
      },
    );
  }

  /** Attaches to the room and queues sync step 1, as y-websocket does on open. */
  connect(room: Room = this.#room): boolean {
    this.#room = room;
    const attached = room.attach(this.socket);
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MessageType.sync);
    syncProtocol.writeSyncStep1(encoder, this.doc);
    this.outbox.push(encoding.toUint8Array(encoder));
    return attached;
  }

  /** Sends raw bytes straight to the room, as a hostile client could. */
  sendRaw(message: Uint8Array): void {
    this.#room.receive(this.socket, message);
  }

  disconnect(): void {
    this.socket.close(1000 as CloseCode);
    this.#room.detach(this.socket);
  }

  /** Moves queued messages both ways once. Returns whether anything moved. */
  pump(): boolean {
    let moved = false;
    for (const message of this.socket.take()) {
      moved = true;
      this.#apply(message);
    }
    for (const message of this.outbox.splice(0)) {
      moved = true;
      if (this.socket.closedWith === null) this.#room.receive(this.socket, message);
    }
    return moved;
  }

  destroy(): void {
    this.awareness.destroy();
    this.doc.destroy();
  }

  #apply(message: Uint8Array): void {
    const decoder = decoding.createDecoder(message);
    const type = decoding.readVarUint(decoder);
    if (type === MessageType.sync) {
      const reply = encoding.createEncoder();
      encoding.writeVarUint(reply, MessageType.sync);
      syncProtocol.readSyncMessage(decoder, reply, this.doc, this);
      if (encoding.length(reply) > 1) this.outbox.push(encoding.toUint8Array(reply));
    } else if (type === MessageType.awareness) {
      awarenessProtocol.applyAwarenessUpdate(
        this.awareness,
        decoding.readVarUint8Array(decoder),
        this,
      );
    }
  }
}

/** Delivers messages between clients and rooms until nothing moves, awaiting storage writes. */
export async function flush(rooms: Room[], clients: TestClient[]): Promise<void> {
  for (let round = 0; round < 100; round++) {
    let moved = false;
    for (const client of clients) moved = client.pump() || moved;
    for (const room of rooms) await room.whenIdle();
    // Let pub/sub deliveries (microtasks) and step-1 answers run.
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const client of clients) {
      moved = client.socket.sent.length > 0 || client.outbox.length > 0 || moved;
    }
    if (!moved) return;
  }
  throw new Error('messages kept moving after 100 rounds');
}

export interface RoomFixture {
  deps: RoomDeps;
  /** What the room handed to `closeMembers` (the transport's part of another node's message). */
  closedMembers: MembersEnded[];
  metrics: Metrics;
  pubsub: MemoryPubSub;
  docStore: DocStore;
}

export interface RoomDepsOptions {
  limits?: Partial<Limits>;
  pubsub?: MemoryPubSub;
  now?: () => number;
  maxSpaceBytes?: number;
  log?: Logger;
  /** Replace single dependencies of the room (after all the others are built). */
  overrides?: Partial<RoomDeps>;
}

export function roomDeps(storage: StorageAdapter, options: RoomDepsOptions = {}): RoomFixture {
  const limits = { ...defaultLimits, ...options.limits };
  const metrics = new Metrics();
  const pubsub = options.pubsub ?? new MemoryPubSub();
  const log = options.log ?? pino({ level: 'silent' });
  const docStore = new DocStore(storage, limits, {
    metrics,
    log,
    maxSpaceBytes: options.maxSpaceBytes,
  });
  const closedMembers: MembersEnded[] = [];
  return {
    metrics,
    pubsub,
    docStore,
    closedMembers,
    deps: {
      docStore,
      bus: new SpaceBus(pubsub),
      metrics,
      log,
      limits,
      spaceState: spaceStateIn(storage),
      closeMembers: (ended) => closedMembers.push(ended),
      ...(options.now ? { now: options.now } : {}),
      ...options.overrides,
    },
  };
}

/**
 * A test file's rooms and the clients on them, all closed after each test, including those a test
 * pushes onto `clients` and `rooms` itself. `setup` loads a room over a new bare space (in a
 * MemoryAdapter unless given `storage`); its `client()` makes a client of that room.
 * Call once, at the top of the file.
 */
export function roomTestbed() {
  const clients: TestClient[] = [];
  const rooms: Room[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const room of rooms.splice(0)) await room.close();
  });

  async function setup<S extends StorageAdapter = MemoryAdapter>(
    options: RoomDepsOptions = {},
    storage?: S,
  ) {
    const store = storage ?? new MemoryAdapter();
    const spaceId = await createBareSpace(store);
    const fixture = roomDeps(store, options);
    const room = await Room.load(spaceId, fixture.deps);
    rooms.push(room);
    const client = (): TestClient => {
      const c = new TestClient(room);
      clients.push(c);
      return c;
    };
    return { storage: store, spaceId, room, client, ...fixture };
  }

  return { clients, rooms, setup };
}

/** How many messages the room's metrics counted as rejected for `reason`. */
export async function rejectedFor(metrics: Metrics, reason: RejectReason): Promise<number> {
  const { values } = await metrics.rejected.get();
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

/** A sync update message carrying `update`, as y-websocket sends an edit. */
export function syncUpdateMessage(update: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MessageType.sync);
  encoding.writeVarUint(encoder, SyncStep.update);
  encoding.writeVarUint8Array(encoder, update);
  return encoding.toUint8Array(encoder);
}

/** The stored document of a space, as a fresh Y.Doc. */
export async function storedDoc(log: UpdateLog, spaceId: SpaceId): Promise<Y.Doc> {
  const stored = await log.loadDoc(spaceId);
  const doc = new Y.Doc();
  if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
  for (const update of stored.updates) Y.applyUpdate(doc, update.data);
  return doc;
}
