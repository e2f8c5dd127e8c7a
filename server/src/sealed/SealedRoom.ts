import {
  CloseCode,
  EnvelopeKind,
  SealedMessage,
  encodeServerMessage,
  type SpaceId,
} from '@mend/protocol';
import type { Limits } from '../config.js';
import { Emitter } from '../Emitter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { decodeMembersEnded, type MembersEnded } from '../pubsub/membersEnded.js';
import { BusKind, type BusMessage, type SpaceBus } from '../pubsub/SpaceBus.js';
import type { SealedAppendResult, SealedEntry, SealedLog } from '../storage/SealedLog.js';
import { HoldQueue } from '../sync/HoldQueue.js';
import { ProtocolViolation, refusalCode } from '../sync/ProtocolViolation.js';
import { RoomBus } from '../sync/RoomBus.js';
import type { RoomSocket, SocketHost } from '../sync/RoomSocket.js';
import { RoomSockets } from '../sync/RoomSockets.js';
import type { ManagedRoom } from '../sync/Rooms.js';
import { backlogParts } from './backlog.js';
import { compactBytes, expandBytes, type CompactBytes } from './compactBytes.js';
import { decodeStoredEnvelope, encodeLeft, encodeStoredEnvelope } from './sealedBus.js';
import { checkEnvelope, envelopeHash, readDeviceMessage } from './sealedInput.js';
import { DeviceHost } from './DeviceHost.js';
import { SealedPresence } from './SealedPresence.js';
import { SealedQuota } from './SealedQuota.js';
import { SealedRelay, type RelayRoom } from './SealedRelay.js';
import type { Sender } from './SealedSequence.js';
import { SealedSession, SessionOutput } from './SealedSession.js';

export interface SealedRoomDeps {
  storage: SealedLog;
  bus: SpaceBus;
  metrics: Metrics;
  log: Logger;
  limits: Limits;
  /** MEND_MAX_SPACE_BYTES. */
  maxSpaceBytes: number;
  /** Whether the space still exists (asked when a write fails: deleted, or broken storage?). */
  spaceExists: (spaceId: SpaceId) => Promise<boolean>;
  /** Closes this process's sockets of devices another process ended (RoomDeps.closeMembers). */
  closeMembers: (ended: MembersEnded) => void;
  now?: () => number;
}

type RoomState = 'loading' | 'open' | 'failed' | 'closed';

/**
 * What `submit` carries: updates, member statements, keys envelopes (a link statement,
 * docs/protocol.md "Linking a device"), and carried envelopes (what a device wrote before its
 * space was sealed, "Converting a plaintext space"), which the server stores and chains like
 * updates.
 */
const SUBMITTED_KINDS = [
  EnvelopeKind.update,
  EnvelopeKind.member,
  EnvelopeKind.keys,
  EnvelopeKind.carried,
];
const PRESENCE_KIND = [EnvelopeKind.presence];
const SNAPSHOT_KIND = [EnvelopeKind.snapshot];

/**
 * One sealed space on this process (docs/protocol.md, "The sealed socket"): it binds each
 * socket to its device, checks envelope headers, stores envelopes through the SealedLog (which
 * orders them and checks chains), and hands every socket the space's envelopes in seq order
 * with no gap or duplicate, its backlog first. It holds no document and reads nothing past an
 * envelope's header. Nothing thrown while handling a message escapes `receive`: bad input
 * closes only its socket.
 *
 * Its parts: SealedSession (a socket's place in the order), SealedRelay (stored envelopes to
 * the sockets in seq order, gaps read from storage), SealedPresence (relayed, never stored),
 * SealedQuota, RoomSockets and SocketBudget (who is in, at what rate), RoomBus (the other
 * processes) and HoldQueue (what waits while the relay catches up).
 */
export class SealedRoom implements ManagedRoom, RelayRoom {
  readonly spaceId: SpaceId;
  readonly #deps: SealedRoomDeps;
  readonly #now: () => number;
  /** The room's sockets, each with its session (which holds the socket's budget). */
  readonly #sockets: RoomSockets<SealedSession>;
  readonly #relay: SealedRelay;
  readonly #presence: SealedPresence;
  readonly #bus: RoomBus;
  readonly #held = new HoldQueue();
  readonly #events = new Emitter<{ failed: () => void }>();
  /**
   * Storage writes started and not yet handled (appends and snapshots); null while there are
   * none, as in an idle room (its parts hold no closures, and no empty sets: memory per couple).
   */
  #writes: Set<Promise<void>> | null = null;
  #state: RoomState = 'loading';
  readonly #quota: SealedQuota;
  #catchUps = 0;
  #lastActive: number;
  /** Where every session of this room sends. */
  readonly #output: SessionOutput;

  private constructor(spaceId: SpaceId, deps: SealedRoomDeps) {
    this.spaceId = spaceId;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#lastActive = this.#now();
    const sockets = new RoomSockets<SealedSession>({
      limits: deps.limits,
      metrics: deps.metrics,
      now: this.#now,
    });
    this.#sockets = sockets;
    this.#output = new SessionOutput(sockets, deps.metrics.sealedRelayed);
    this.#bus = new RoomBus(spaceId, deps.bus, deps.log);
    this.#presence = new SealedPresence({
      sessions: sockets.members,
      output: this.#output,
      bus: this.#bus,
      now: this.#now,
      stateBytes: deps.limits.awarenessStateBytes,
    });
    this.#quota = new SealedQuota(spaceId, deps.maxSpaceBytes, deps.log);
    this.#relay = new SealedRelay(this, sockets.members, this.#held, deps);
  }

  /** Reads the space's head and stored bytes; the room serves nobody before this resolves. */
  static async load(spaceId: SpaceId, deps: SealedRoomDeps): Promise<SealedRoom> {
    const room = new SealedRoom(spaceId, deps);
    // Subscribe before reading the head: whatever another node stores meanwhile is either
    // below the head or arrives on the bus.
    await room.#bus.subscribe((message) => room.#receiveFromBus(message));
    try {
      const { head } = await deps.storage.loadEnvelopes(spaceId, Number.MAX_SAFE_INTEGER);
      room.#relay.start(head);
      room.#quota.stored = await deps.storage.storedBytes(spaceId);
    } catch (error) {
      await room.#bus.close();
      throw error;
    }
    room.#state = 'open';
    room.#bus.open();
    return room;
  }

  on(event: 'failed', listener: () => void): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * The room as the transport sees it for sockets opened with `device`'s token. It keeps the
   * device's key only (compact), not its record: the transport holds it for as long as the
   * socket lives.
   */
  hostFor(device: { signingKey: Uint8Array }): SocketHost {
    return new DeviceHost(this, compactBytes(device.signingKey));
  }

  /** Adds a socket of `device`. False, having closed it, when the room is full or not open. */
  attach(socket: RoomSocket, device: CompactBytes): boolean {
    if (this.#state !== 'open') {
      socket.close(CloseCode.serverError);
      return false;
    }
    const output = this.#output;
    return this.#sockets.admit(
      socket,
      (budget) => new SealedSession(device, socket, output, budget),
    );
  }

  /** Forgets a socket and tells the others its stream left. Idempotent. */
  detach(socket: RoomSocket): void {
    const session = this.#sockets.get(socket);
    if (!this.#sockets.remove(socket) || !session || this.#state !== 'open') return;
    this.#presence.left(session);
  }

  /** Handles one binary message from a socket. Never throws. */
  receive(socket: RoomSocket, message: Uint8Array): void {
    const session = this.#sockets.get(socket);
    if (!session || this.#state !== 'open') return;
    if (this.#held.defer(() => this.receive(socket, message))) return;
    this.#deps.metrics.messagesIn.inc();
    this.#lastActive = this.#now();
    try {
      session.budget.spend(message.byteLength, this.#now());
      this.#handle(socket, session, message);
    } catch (error) {
      this.#refuse(socket, error);
    }
  }

  get heldBytes(): number {
    let bytes = this.#relay.waitingBytes;
    for (const session of this.#sockets.members.values()) bytes += session.heldBytes;
    return bytes;
  }

  /** A pending write counts as awake: the registry must not unload the room under it. */
  get isAwake(): boolean {
    return this.#writes !== null;
  }

  /** Whether the room serves its sockets (not loading, failed or closed). */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** Settles once the storage writes started so far are handled (for its relay). */
  writesSettled(): Promise<unknown> {
    return Promise.allSettled(this.#writes ?? []);
  }

  get lastActive(): number {
    return this.#lastActive;
  }

  /** A sealed room holds no document, so there is nothing to put to sleep. */
  sleepIfIdle(): boolean {
    return false;
  }

  /** Resolves once every write started so far is handled, and any catch-up done (tests). */
  async whenIdle(): Promise<void> {
    while (this.#writes !== null || this.#relay.catchingUp) {
      await Promise.allSettled([...(this.#writes ?? []), new Promise(setImmediate)]);
    }
  }

  /** After a pub/sub outage: reads from storage whatever this room did not release. */
  resyncFromStorage(): Promise<void> {
    return this.#relay.catchUp(true);
  }

  /** Closes every socket with `code` and waits for pending writes; the room is dead after. */
  async close(code: CloseCode = CloseCode.goingAway): Promise<void> {
    const wasOpen = this.#state === 'open';
    if (this.#state === 'open' || this.#state === 'loading') this.#state = 'closed';
    // Devices on other nodes would otherwise see these streams here until presence expires.
    const streams = wasOpen ? [...this.#sockets.members.values()] : [];
    this.#sockets.closeAll(code);
    for (const { device, stream } of streams) {
      if (stream === null) continue;
      await this.#bus.publish(BusKind.sealedLeft, encodeLeft(expandBytes(device), stream));
    }
    await this.writesSettled();
    await this.#bus.close();
  }

  // --- messages from sockets --------------------------------------------------------------

  #handle(socket: RoomSocket, session: SealedSession, message: Uint8Array): void {
    const read = readDeviceMessage(message);
    switch (read.type) {
      case SealedMessage.hello:
        return this.#hello(socket, session, read.since, read.stream);
      case SealedMessage.submit:
        return this.#submit(socket, session, read.envelope);
      case SealedMessage.presence:
        return this.#relayPresence(socket, session, read.envelope);
      case SealedMessage.snapshot:
        return this.#snapshot(socket, session, read.envelope);
      default: {
        const unreachable: never = read;
        return unreachable;
      }
    }
  }

  #hello(socket: RoomSocket, session: SealedSession, since: number, stream: number): void {
    if (session.stream !== null && session.stream !== stream) {
      throw new ProtocolViolation(CloseCode.chainConflict, 'wrong-stream', 'a second stream');
    }
    session.stream = stream;
    const id = ++this.#catchUps;
    // Queue releases from now on, then read: every envelope is in the backlog or the queue.
    session.startCatchUp(id);
    void this.#deps.storage.loadEnvelopes(this.spaceId, since).then(
      (loaded) => {
        if (this.#sockets.get(socket) !== session || this.#state !== 'open') return;
        if (!session.finishCatchUp(id, backlogParts(loaded), loaded.head)) return;
        this.#presence.greet(socket);
      },
      (error: unknown) => this.fail(error),
    );
  }

  #submit(socket: RoomSocket, session: SealedSession, bytes: Uint8Array): void {
    const header = checkEnvelope(bytes, SUBMITTED_KINDS, this.spaceId, session, true);
    this.#quota.reserve(bytes.byteLength);
    const { author, stream, counter, prev } = header;
    const entry = { author, stream, counter, prev, hash: envelopeHash(bytes), envelope: bytes };
    this.#track(this.#append({ socket, stream, counter }, entry));
  }

  /** Stores a submitted envelope (its quota reserved), then relays or refuses it. */
  async #append(sender: Sender, entry: SealedEntry): Promise<void> {
    const size = entry.envelope.byteLength;
    const started = performance.now();
    let result: SealedAppendResult;
    try {
      result = await this.#deps.storage.appendEnvelope(this.spaceId, entry);
    } catch (error) {
      this.#quota.settle(size, false);
      return this.fail(error);
    }
    this.#quota.settle(size, result.outcome === 'stored');
    this.#deps.metrics.persistSeconds.observe((performance.now() - started) / 1000);
    this.#stored(sender, entry.envelope, result);
  }

  #stored(sender: Sender, bytes: Uint8Array, result: SealedAppendResult): void {
    switch (result.outcome) {
      case 'stored': {
        this.#deps.metrics.sealedStored.inc();
        this.#deps.metrics.sealedStoredBytes.inc(bytes.byteLength);
        if (this.#bus.othersListening) {
          void this.#bus.publish(BusKind.sealedEnvelope, encodeStoredEnvelope(result.seq, bytes));
        }
        return this.#relay.stored(result.seq, bytes, sender);
      }
      case 'duplicate':
        this.#deps.metrics.sealedDuplicates.inc();
        return this.#relay.resent({
          socket: sender.socket,
          stream: sender.stream,
          counter: sender.counter,
          seq: result.seq,
        });
      case 'conflict':
        return this.#refuse(
          sender.socket,
          new ProtocolViolation(CloseCode.chainConflict, 'chain-conflict', result.reason),
        );
      default: {
        const unreachable: never = result;
        return unreachable;
      }
    }
  }

  #relayPresence(socket: RoomSocket, session: SealedSession, bytes: Uint8Array): void {
    const header = checkEnvelope(bytes, PRESENCE_KIND, this.spaceId, session);
    this.#presence.relay(socket, session, header, bytes);
  }

  #snapshot(socket: RoomSocket, session: SealedSession, bytes: Uint8Array): void {
    const { covers } = checkEnvelope(bytes, SNAPSHOT_KIND, this.spaceId, session);
    if (!covers) throw ProtocolViolation.malformed('a snapshot that covers nothing');
    const { storage, metrics, log } = this.#deps;
    const snapshot = { coversSeq: covers.seq, coversHash: covers.hash, envelope: bytes };
    const stored = storage.replaceWithSealedSnapshot(this.spaceId, snapshot);
    const answered = stored.then(async (result) => {
      metrics.sealedSnapshots.inc({ result: result.stored ? 'stored' : result.reason });
      const facts = { spaceId: this.spaceId, coversSeq: covers.seq, bytes: bytes.byteLength };
      log.info({ ...facts, ...result }, 'sealed snapshot submitted');
      if (result.stored) this.#quota.stored = await storage.storedBytes(this.spaceId);
      const reason = result.stored ? '' : result.reason;
      const answer = { coversSeq: covers.seq, stored: result.stored, reason };
      this.#sockets.send(
        socket,
        encodeServerMessage({ type: SealedMessage.snapshotResult, ...answer }),
      );
    });
    this.#track(answered.catch((error: unknown) => this.fail(error)));
  }

  #refuse(socket: RoomSocket, error: unknown): void {
    socket.close(refusalCode(error, this.#deps, this.spaceId));
    this.detach(socket);
  }

  // --- messages from other nodes ----------------------------------------------------------

  #receiveFromBus(message: BusMessage): void {
    if (this.#state !== 'open') return;
    // Ending sockets is not held back while the relay catches up: it needs nothing of the order.
    const waits = message.kind !== BusKind.membersEnded;
    if (waits && this.#held.defer(() => this.#receiveFromBus(message))) return;
    try {
      switch (message.kind) {
        case BusKind.membersEnded:
          return this.#deps.closeMembers(decodeMembersEnded(message.payload));
        case BusKind.sealedEnvelope: {
          const { seq, envelope } = decodeStoredEnvelope(message.payload);
          return this.#relay.fromNode(seq, envelope);
        }
        case BusKind.sealedPresence:
        case BusKind.sealedLeft:
          return this.#presence.fromNode(message.kind, message.payload);
        case BusKind.catchUp:
          // As after an outage of this node's own (MendServer's onRecovered), for this space only.
          void this.resyncFromStorage();
          return;
        default:
          // A plaintext space's kinds: not for a sealed room.
          return;
      }
    } catch (error) {
      this.#deps.log.warn({ err: error, spaceId: this.spaceId }, 'pub/sub message dropped');
    }
  }

  // --- sending and failing ----------------------------------------------------------------

  #track(write: Promise<void>): void {
    const writes = (this.#writes ??= new Set());
    writes.add(write);
    void write.finally(() => {
      writes.delete(write);
      if (writes.size === 0 && this.#writes === writes) this.#writes = null;
    });
  }

  /**
   * Storage failed: the room can no longer promise its order. Close everyone (they reconnect
   * and catch up against a fresh room) and let the registry forget this one. Public for its
   * relay (RelayRoom), which reads gaps from storage.
   */
  fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#deps.log.error({ err: error, spaceId: this.spaceId }, 'room failed; closing its sockets');
    this.#events.emit('failed');
    const sockets = this.#sockets.removeAll();
    void this.#deps
      .spaceExists(this.spaceId)
      .catch(() => true)
      .then((exists) => {
        for (const socket of sockets) {
          socket.close(exists ? CloseCode.serverError : CloseCode.spaceGone);
        }
      })
      .finally(() => void this.close(CloseCode.serverError));
  }
}
