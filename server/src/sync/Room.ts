import { CloseCode, SyncStep, type SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import type { Limits } from '../config.js';
import { Emitter } from '../Emitter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { decodeMembersEnded, type MembersEnded } from '../pubsub/membersEnded.js';
import { BusKind, type BusMessage, type SpaceBus } from '../pubsub/SpaceBus.js';
import { isEmptyUpdate, type DocStore } from '../storage/DocStore.js';
import type { SpaceDirectory } from '../storage/StorageAdapter.js';
import { changesNothing, type Dormant } from './dormant.js';
import { HoldQueue } from './HoldQueue.js';
import { ProtocolViolation, refusalCode } from './ProtocolViolation.js';
import { RelayQueue } from './RelayQueue.js';
import { RoomBus } from './RoomBus.js';
import { RoomDocument } from './RoomDocument.js';
import { RoomPresence } from './RoomPresence.js';
import type { RoomSocket } from './RoomSocket.js';
import { RoomSockets, budgetOnly } from './RoomSockets.js';
import { refuseOverQuota } from './spaceQuota.js';
import { checkUpdate, type KnownClock } from './updateValidation.js';
import { awarenessMessage, readClientMessage, syncMessage } from './wire.js';

export interface RoomDeps {
  docStore: DocStore;
  bus: SpaceBus;
  metrics: Metrics;
  log: Logger;
  limits: Limits;
  /**
   * What became of the space, asked when a write fails: deleted (4404), sealed meanwhile by
   * another process (4410), or still here, so storage broke (1011).
   */
  spaceState: (spaceId: SpaceId) => Promise<SpaceState>;
  /**
   * Closes this process's sockets of members another process ended (MendServer: in the
   * transport, which knows whose credential opened each socket, and remembers them for upgrades
   * still in flight).
   */
  closeMembers: (ended: MembersEnded) => void;
  now?: () => number;
  /**
   * The check every update passes before it touches the document (default: checkUpdate). Tests
   * swap in one that lets everything through, to reach the path where Yjs throws anyway.
   */
  checkUpdate?: (update: Uint8Array, known: KnownClock) => void;
}

/** What a space is now, as a plaintext room asks when a write failed. */
export type SpaceState = 'plaintext' | 'sealed' | 'gone';

/** RoomDeps.spaceState read from the space directory. */
export function spaceStateIn(
  directory: Pick<SpaceDirectory, 'getSpace'>,
): (spaceId: SpaceId) => Promise<SpaceState> {
  return async (spaceId) => {
    const space = await directory.getSpace(spaceId);
    return space === null ? 'gone' : space.sealed ? 'sealed' : 'plaintext';
  };
}

/** What a room tells whoever listens (`room.on`). */
export interface RoomEvents {
  /**
   * Once, when the room can serve no more (storage failed, or its space was sealed): the
   * registry forgets it.
   */
  failed: (room: Room) => void;
}

type RoomState = 'loading' | 'open' | 'failed' | 'closed';

/**
 * One space's live document and its sockets, speaking y-websocket's protocol. Every update is
 * validated before it touches the document, written to storage before it is relayed, and a
 * client's sync step 1 is answered only from stored state. Nothing thrown while handling a
 * socket's message escapes `receive`: bad input closes that socket only.
 *
 * The room coordinates; its parts hold the rest: RoomDocument (the document, awake or asleep),
 * RoomPresence (awareness), SocketBudget (each socket's rate), RelayQueue (store, then relay, in
 * order), HoldQueue (what waits while the document is rebuilt), spaceQuota (stored bytes).
 */
export class Room {
  readonly spaceId: SpaceId;
  readonly #deps: RoomDeps;
  readonly #document: RoomDocument;
  readonly #sockets: RoomSockets;
  readonly #presence: RoomPresence;
  readonly #now: () => number;
  #state: RoomState = 'loading';
  readonly #relays = new RelayQueue();
  readonly #bus: RoomBus;
  /** While the live document is rebuilt from storage after Yjs threw (see #restore). */
  readonly #held = new HoldQueue();
  readonly #checkUpdate: (update: Uint8Array, known: KnownClock) => void;
  readonly #events = new Emitter<RoomEvents>();

  private constructor(spaceId: SpaceId, deps: RoomDeps) {
    this.spaceId = spaceId;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#checkUpdate = deps.checkUpdate ?? checkUpdate;
    this.#document = new RoomDocument(spaceId, { ...deps, now: this.#now });
    this.#sockets = new RoomSockets({ ...deps, now: this.#now });
    this.#presence = new RoomPresence({ ...deps, now: this.#now });
    this.#bus = new RoomBus(spaceId, deps.bus, deps.log);
  }

  /** Loads the space's stored document; the room answers nobody before this resolves. */
  static async load(spaceId: SpaceId, deps: RoomDeps): Promise<Room> {
    const room = new Room(spaceId, deps);
    // Subscribe before loading: whatever another node stores meanwhile is either in the
    // load or in the backlog.
    await room.#bus.subscribe((message) => room.#receiveFromBus(message));
    try {
      room.#document.reload(await deps.docStore.load(spaceId));
    } catch (error) {
      await room.#bus.close();
      throw error;
    }
    room.#state = 'open';
    room.#bus.open();
    return room;
  }

  /** Calls `listener` on `event` (see RoomEvents). Returns a function that stops it. */
  on<K extends keyof RoomEvents>(event: K, listener: RoomEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** The live document, read-only by convention (tests, diagnostics). Wakes the room. */
  get doc(): Y.Doc {
    return this.#document.live();
  }

  /** Whether the room holds a live Y.Doc (false: only its encoded state). */
  get isAwake(): boolean {
    return this.#document.isAwake;
  }

  /** An estimate of the memory the document takes, without encoding it. */
  get heldBytes(): number {
    return this.#document.heldBytes;
  }

  /** When the document was last used (read, written or woken), by the room's clock. */
  get lastActive(): number {
    return this.#document.lastActive;
  }

  /**
   * Drops the live document if nothing happened for `idleMs` and no write is pending: the room
   * keeps the encoded state and wakes on the next update. Returns whether it went dormant.
   */
  sleepIfIdle(idleMs: number): boolean {
    if (this.#now() - this.#document.lastActive < idleMs) return false;
    if (this.#relays.pending > 0 || this.#held.holding || this.#state !== 'open') return false;
    return this.#document.sleep();
  }

  /**
   * Adds a socket and greets it (sync step 1, current presence). Returns false, having closed
   * the socket, when the room is full or not open.
   */
  attach(socket: RoomSocket): boolean {
    if (this.#state !== 'open') {
      socket.close(CloseCode.serverError);
      return false;
    }
    if (!this.#sockets.admit(socket, budgetOnly)) return false;
    const greet = (): void => {
      if (!this.#sockets.has(socket) || this.#state !== 'open') return;
      this.#sockets.send(socket, syncMessage(SyncStep.step1, this.#document.stateVector()));
      this.#sendPresence(socket);
    };
    if (!this.#held.defer(greet)) greet();
    return true;
  }

  /** Forgets a socket (closed or failed) and tells the others its presence is gone. Idempotent. */
  detach(socket: RoomSocket): void {
    if (!this.#sockets.remove(socket)) return;
    const removed = this.#presence.release(socket);
    if (removed && this.#state === 'open') {
      this.#sockets.broadcast(awarenessMessage(removed), null);
      void this.#bus.publish(BusKind.awareness, removed);
    }
  }

  /** Handles one binary message from a socket. Never throws. */
  receive(socket: RoomSocket, message: Uint8Array): void {
    const budget = this.#sockets.get(socket);
    if (!budget || this.#state !== 'open') return;
    if (this.#held.defer(() => this.receive(socket, message))) return;
    this.#deps.metrics.messagesIn.inc();
    try {
      budget.spend(message.byteLength, this.#now());
      this.#handle(socket, message);
    } catch (error) {
      this.#refuse(socket, error);
    }
  }

  /**
   * Applies a change made by the server itself (e.g. the model's addPartner on join), stores it
   * and relays it. Resolves once stored. A function that throws writes nothing.
   */
  async change(write: (doc: Y.Doc) => void): Promise<void> {
    if (this.#held.holding) await new Promise<void>((resolve) => this.#held.defer(resolve));
    if (this.#state !== 'open') throw new Error('room is not open');
    const dormant = this.#document.dormant;
    const update = this.#document.capture(write);
    if (!update) {
      // A check that found nothing to write (the usual case) leaves a dormant room dormant.
      if (dormant) this.#sleepAgain(dormant);
      return;
    }
    const ok = await this.#storeThenRelay(update, null, performance.now());
    if (!ok) throw new Error('the change could not be stored');
  }

  /** Resolves once every update received so far is stored and relayed (tests, shutdown). */
  whenIdle(): Promise<void> {
    return this.#relays.whenIdle();
  }

  /**
   * Re-reads the stored document (after a pub/sub outage, or an update from another node that
   * arrived before its dependencies) and relays what was missing. Never rejects: if storage
   * cannot be read, the room fails and its clients reconnect.
   */
  async resyncFromStorage(): Promise<void> {
    if (this.#state !== 'open') return;
    try {
      const stored = await this.#deps.docStore.load(this.spaceId);
      // A restore under way loads storage afresh anyway.
      if (this.#state !== 'open' || this.#held.holding) return;
      const missing = this.#document.integrate(stored, 'storage');
      if (missing) this.#sockets.broadcast(syncMessage(SyncStep.update, missing), null);
    } catch (error) {
      this.#fail(error);
    }
  }

  /**
   * The space was converted into a sealed one (here or on another process): every socket closes
   * with 4410 (the device moves over to the sealed space), and the registry forgets the room, so
   * nothing of the plaintext document stays in memory.
   */
  endSealed(): void {
    if (this.#state !== 'open') return;
    this.#events.emit('failed', this);
    void this.close(CloseCode.sealedNow);
  }

  /**
   * Closes every socket with `code` and waits for pending writes to finish. After this the room
   * is dead; the registry loads a fresh one if needed.
   */
  async close(code: CloseCode = CloseCode.goingAway): Promise<void> {
    const wasOpen = this.#state === 'open';
    if (this.#state === 'open' || this.#state === 'loading') this.#state = 'closed';
    this.#sockets.closeAll(code);
    // Partners on other nodes would otherwise see this node's devices online until the
    // awareness timeout: tell them now that these devices left.
    const gone = this.#presence.clear();
    if (wasOpen && gone) await this.#bus.publish(BusKind.awareness, gone);
    await this.#relays.settled;
    await this.#bus.close();
    this.#document.destroy();
  }

  // --- messages from sockets --------------------------------------------------------------

  #handle(socket: RoomSocket, message: Uint8Array): void {
    const read = readClientMessage(message);
    switch (read.type) {
      case 'syncStep1':
        return this.#answerStep1(socket, read.stateVector);
      case 'update':
        return this.#receiveUpdate(socket, read.update);
      case 'awareness': {
        const relayed = this.#presence.receive(socket, read.update);
        if (!relayed) return;
        // Echoed to the sender too, as y-websocket's own server does: a device alone in its
        // space would otherwise hear nothing for 30 s and its provider would reconnect in a loop.
        this.#sockets.broadcast(awarenessMessage(relayed), null);
        void this.#bus.publish(BusKind.awareness, relayed);
        return;
      }
      case 'auth':
        return;
      case 'queryAwareness':
        return this.#sendPresence(socket);
      default: {
        const unreachable: never = read;
        return unreachable;
      }
    }
  }

  #answerStep1(socket: RoomSocket, stateVector: Uint8Array): void {
    let clocks: Map<number, number>;
    try {
      clocks = Y.decodeStateVector(stateVector);
    } catch {
      throw ProtocolViolation.malformed('undecodable state vector');
    }
    // Answer only with stored content: what the document holds now is sent once every write
    // started so far has been stored (later updates reach this socket as relays, in order).
    const diff = this.#document.diff(stateVector, clocks);
    this.#relays.afterPending(() => {
      if (this.#sockets.has(socket) && this.#state === 'open') {
        this.#sockets.send(socket, syncMessage(SyncStep.step2, diff));
      }
    });
  }

  #receiveUpdate(socket: RoomSocket, update: Uint8Array): void {
    const started = performance.now();
    // A fresh device's sync step 2: no structs, no deletions.
    if (isEmptyUpdate(update)) return;
    const dormant = this.#document.dormant;
    const known: KnownClock = (client) => this.#document.knownClock(client);
    try {
      this.#checkUpdate(update, known);
    } catch (error) {
      if (!(error instanceof ProtocolViolation) || error.reason !== 'missing-dependencies') {
        throw error;
      }
      // A valid update that builds on changes we never received (typed just after a reconnect,
      // or after a write that failed). Apply nothing, park nothing; instead ask this client for
      // everything we lack: its sync step 2 answer carries this update and its dependencies.
      this.#deps.metrics.reject('missing-dependencies');
      this.#sockets.send(socket, syncMessage(SyncStep.step1, this.#document.stateVector()));
      return;
    }
    // A device's sync step 2 usually brings nothing: a fresh device sends the empty update, a
    // returning one only deletions the room already holds. Neither is worth rebuilding a
    // dormant room's document for.
    if (dormant && changesNothing(dormant, update)) return;
    refuseOverQuota(this.#deps.docStore, this.#deps.log, this.spaceId, update, known);
    try {
      this.#document.live();
    } catch (error) {
      // The stored document itself cannot be loaded (written by an older version that let a
      // poisoned update through): nothing a device sends can help. See `admin.js repair-space`.
      this.#fail(error);
      return;
    }
    let effective: Uint8Array | null;
    try {
      effective = this.#document.integrate(update, socket);
    } catch (error) {
      // Yjs threw half-way despite the checks: the live document may hold part of the update,
      // and nothing of it was stored. Only the sender is at fault; the others stay while the
      // document is rebuilt from storage.
      this.#deps.metrics.reject('invalid-update');
      this.#deps.log.info(
        { spaceId: this.spaceId, reason: 'invalid-update', closeCode: CloseCode.badMessage },
        'closing a socket whose update Yjs could not apply',
      );
      socket.close(CloseCode.badMessage);
      this.detach(socket);
      this.#restore(error);
      return;
    }
    if (effective) void this.#storeThenRelay(effective, socket, started);
    // Nothing new after all (a deletion and a struct the room had): straight back to sleep.
    else if (dormant) this.#sleepAgain(dormant);
  }

  #refuse(socket: RoomSocket, error: unknown): void {
    socket.close(refusalCode(error, this.#deps, this.spaceId));
    this.detach(socket);
  }

  // --- messages from other nodes ----------------------------------------------------------

  #receiveFromBus(message: BusMessage): void {
    if (this.#state !== 'open') return;
    // Ending sockets is not held back while the document is rebuilt: it needs nothing of it.
    const waits = message.kind !== BusKind.membersEnded;
    if (waits && this.#held.defer(() => this.#receiveFromBus(message))) return;
    try {
      if (message.kind === BusKind.update) this.#receiveRemoteUpdate(message.payload);
      else if (message.kind === BusKind.membersEnded) {
        const ended = decodeMembersEnded(message.payload);
        this.#deps.closeMembers(ended);
        if (ended.code === CloseCode.sealedNow) this.endSealed();
      } else if (message.kind === BusKind.awareness) {
        this.#presence.receiveRemote(message.payload);
        this.#sockets.broadcast(awarenessMessage(message.payload), null);
      } else if (message.kind === BusKind.catchUp) {
        // As after an outage of this node's own (MendServer's onRecovered), for this space only.
        void this.resyncFromStorage();
      }
    } catch (error) {
      this.#deps.log.warn({ err: error, spaceId: this.spaceId }, 'pub/sub message dropped');
    }
  }

  #receiveRemoteUpdate(update: Uint8Array): void {
    try {
      this.#checkUpdate(update, (client) => this.#document.knownClock(client));
    } catch {
      // Another node stored it before publishing, so storage has what we are missing.
      void this.resyncFromStorage();
      return;
    }
    let effective: Uint8Array | null;
    try {
      effective = this.#document.integrate(update, 'remote');
    } catch (error) {
      this.#restore(error);
      return;
    }
    if (effective) this.#sockets.broadcast(syncMessage(SyncStep.update, effective), null);
  }

  // --- storage -----------------------------------------------------------------------------

  /** Stores, then relays (in order of arrival). Resolves true once relayed, false on failure. */
  #storeThenRelay(update: Uint8Array, from: RoomSocket | null, started: number): Promise<boolean> {
    return this.#relays.write(
      () => this.#deps.docStore.append(this.spaceId, update),
      () => {
        if (this.#state !== 'open') return false;
        this.#sockets.broadcast(syncMessage(SyncStep.update, update), from);
        void this.#bus.publish(BusKind.update, update);
        this.#deps.metrics.relaySeconds.observe((performance.now() - started) / 1000);
        return true;
      },
      (error) => this.#fail(error),
    );
  }

  /**
   * Yjs threw half-way through an update, so the live document may hold part of something that
   * was never stored. Rebuild it from storage once every earlier write is stored; whatever
   * arrives meanwhile waits, in order, in #held. No socket is closed for it.
   */
  #restore(error: unknown): void {
    this.#deps.log.warn(
      { err: error, spaceId: this.spaceId },
      'an update broke the live document; rebuilding it from storage',
    );
    if (this.#held.hold()) void this.#rebuild();
  }

  async #rebuild(): Promise<void> {
    try {
      await this.whenIdle();
      const stored = await this.#deps.docStore.load(this.spaceId);
      if (this.#state === 'open') this.#document.reload(stored);
    } catch (error) {
      this.#fail(error);
    }
    this.#held.release();
  }

  /**
   * The room can no longer promise that memory matches storage. Close everyone (they reconnect
   * and resync against a freshly loaded room) and let the registry forget this one.
   */
  #fail(error: unknown): void {
    if (this.#state !== 'open') return;
    this.#state = 'failed';
    this.#deps.log.error({ err: error, spaceId: this.spaceId }, 'room failed; closing its sockets');
    this.#events.emit('failed', this);
    const sockets = this.#sockets.removeAll();
    this.#presence.clear();
    const codes = {
      plaintext: CloseCode.serverError,
      sealed: CloseCode.sealedNow,
      gone: CloseCode.spaceGone,
    } as const;
    void this.#deps
      .spaceState(this.spaceId)
      .catch(() => 'plaintext' as const)
      .then((state) => {
        for (const socket of sockets) socket.close(codes[state]);
      })
      .finally(() => void this.close(CloseCode.serverError));
  }

  /** Back to sleep on `dormant` after a wake that changed nothing (see RoomDocument). */
  #sleepAgain(dormant: Dormant): void {
    if (this.#relays.pending > 0 || this.#state !== 'open') return;
    this.#document.sleepAgain(dormant);
  }

  // --- sending -----------------------------------------------------------------------------

  #sendPresence(socket: RoomSocket): void {
    const presence = this.#presence.current();
    if (presence) this.#sockets.send(socket, awarenessMessage(presence));
  }
}
