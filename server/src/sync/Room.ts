import { CloseCode, SyncStep, type SpaceId } from '@mend/protocol';
import * as random from 'lib0/random';
import * as Y from 'yjs';
import type { Limits } from '../config.js';
import { Emitter } from '../Emitter.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { BusKind, type BusMessage, type SpaceBus } from '../pubsub/SpaceBus.js';
import { isEmptyUpdate, type DocStore } from '../storage/DocStore.js';
import {
  changesNothing,
  dormantBytes,
  dormantDiff,
  dormantFrom,
  dormantFromStored,
  type Dormant,
} from './dormant.js';
import { ProtocolViolation, refusalCode } from './ProtocolViolation.js';
import { RoomPresence } from './RoomPresence.js';
import type { RoomSocket } from './RoomSocket.js';
import { RoomSockets } from './RoomSockets.js';
import { refuseOverQuota } from './spaceQuota.js';
import { checkUpdate, type KnownClock } from './updateValidation.js';
import { awarenessMessage, readClientMessage, syncMessage } from './wire.js';

export interface RoomDeps {
  docStore: DocStore;
  bus: SpaceBus;
  metrics: Metrics;
  log: Logger;
  limits: Limits;
  /** Whether the space still exists (asked when a write fails: deleted, or broken storage?). */
  spaceExists: (spaceId: SpaceId) => Promise<boolean>;
  now?: () => number;
  /**
   * The check every update passes before it touches the document (default: checkUpdate). Tests
   * swap in one that lets everything through, to reach the path where Yjs throws anyway.
   */
  checkUpdate?: (update: Uint8Array, known: KnownClock) => void;
}

/**
 * Heap a live Y.Doc takes per byte of its encoded state: 14.5 to 15 measured for one and five
 * years of a couple's use (tests/bench/lib/fiveYears.mjs), 13 for plain typing.
 */
const LIVE_BYTES_PER_ENCODED_BYTE = 15;

/** What a room tells whoever listens (`room.on`). */
export interface RoomEvents {
  /** Once, when the room breaks (storage failed): the registry forgets it. */
  failed: (room: Room) => void;
}

type Origin = RoomSocket | 'local' | 'remote' | 'storage';

type RoomState = 'loading' | 'open' | 'failed' | 'closed';

/**
 * One space's live document and its sockets, speaking y-websocket's protocol. Every update is
 * validated before it touches the document, written to storage before it is relayed, and a
 * client's sync step 1 is answered only from stored state. Nothing thrown while handling a
 * socket's message escapes `receive`: bad input closes that socket only.
 */
export class Room {
  readonly spaceId: SpaceId;
  readonly #deps: RoomDeps;
  /**
   * The live document while the room is active. An idle room drops it and keeps only the
   * encoded state (`#dormant`), which costs a tenth of the memory and still answers sync step 1
   * (Y.diffUpdate); the next update wakes it.
   */
  #doc: Y.Doc | null = null;
  #dormant: Dormant | null = null;
  /** Encoded size of what the live document holds: its state when woken plus changes since. */
  #liveEncodedBytes = 0;
  #lastActive: number;
  readonly #sockets: RoomSockets;
  readonly #presence: RoomPresence;
  readonly #now: () => number;
  #state: RoomState = 'loading';
  /** Updates captured from the document while we apply one (see #integrate). */
  #captured: Uint8Array[] | null = null;
  /** Resolves when every write started so far is stored and relayed; never rejects. */
  #relayChain: Promise<void> = Promise.resolve();
  /** Writes started but not yet stored. */
  #inflight = 0;
  #unsubscribe: (() => Promise<void>) | null = null;
  #busBacklog: BusMessage[] | null = [];
  /**
   * While the live document is rebuilt from storage after Yjs threw (see #restore): what
   * arrived meanwhile, to run in order once it is back. Null otherwise.
   */
  #held: (() => void)[] | null = null;
  readonly #checkUpdate: (update: Uint8Array, known: KnownClock) => void;
  readonly #events = new Emitter<RoomEvents>();

  private constructor(spaceId: SpaceId, deps: RoomDeps) {
    this.spaceId = spaceId;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#checkUpdate = deps.checkUpdate ?? checkUpdate;
    this.#lastActive = this.#now();
    this.#sockets = new RoomSockets({ ...deps, now: this.#now });
    this.#presence = new RoomPresence({ ...deps, now: this.#now });
  }

  /** Loads the space's stored document; the room answers nobody before this resolves. */
  static async load(spaceId: SpaceId, deps: RoomDeps): Promise<Room> {
    const room = new Room(spaceId, deps);
    // Subscribe before loading: whatever another node stores meanwhile is either in the
    // load or in the backlog.
    room.#unsubscribe = await deps.bus.subscribe(
      spaceId,
      (message) => room.#receiveFromBus(message),
      (error) => deps.log.warn({ err: error, spaceId }, 'undecodable pub/sub message dropped'),
    );
    try {
      const stored = await deps.docStore.load(spaceId);
      room.#dormant = dormantFromStored(stored);
    } catch (error) {
      await room.#unsubscribe().catch(() => {});
      throw error;
    }
    room.#state = 'open';
    const backlog = room.#busBacklog ?? [];
    room.#busBacklog = null;
    for (const message of backlog) room.#receiveFromBus(message);
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
    return this.#live();
  }

  /** Whether the room holds a live Y.Doc (false: only its encoded state). */
  get isAwake(): boolean {
    return this.#doc !== null;
  }

  /** An estimate of the memory the document takes, without encoding it. */
  get heldBytes(): number {
    if (this.#doc) return this.#liveEncodedBytes * LIVE_BYTES_PER_ENCODED_BYTE;
    return this.#dormant ? dormantBytes(this.#dormant) : 0;
  }

  /** When the document was last used (read, written or woken), by the room's clock. */
  get lastActive(): number {
    return this.#lastActive;
  }

  /**
   * Drops the live document if nothing happened for `idleMs` and no write is pending: the room
   * keeps the encoded state and wakes on the next update. Returns whether it went dormant.
   */
  sleepIfIdle(idleMs: number): boolean {
    if (this.#now() - this.#lastActive < idleMs) return false;
    return this.#sleep();
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
    if (!this.#sockets.admit(socket)) return false;
    const greet = (): void => {
      if (!this.#sockets.has(socket) || this.#state !== 'open') return;
      this.#sockets.send(socket, syncMessage(SyncStep.step1, this.#stateVector()));
      this.#sendPresence(socket);
    };
    if (this.#held) this.#held.push(greet);
    else greet();
    return true;
  }

  /** Forgets a socket (closed or failed) and tells the others its presence is gone. Idempotent. */
  detach(socket: RoomSocket): void {
    if (!this.#sockets.remove(socket)) return;
    const removed = this.#presence.release(socket);
    if (removed && this.#state === 'open') {
      this.#sockets.broadcast(awarenessMessage(removed), null);
      void this.#publish(BusKind.awareness, removed);
    }
  }

  /** Handles one binary message from a socket. Never throws. */
  receive(socket: RoomSocket, message: Uint8Array): void {
    const budget = this.#sockets.budget(socket);
    if (!budget || this.#state !== 'open') return;
    if (this.#held) {
      this.#held.push(() => this.receive(socket, message));
      return;
    }
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
    const held = this.#held;
    if (held) await new Promise<void>((resolve) => held.push(resolve));
    if (this.#state !== 'open') throw new Error('room is not open');
    const dormant = this.#doc === null ? this.#dormant : null;
    const update = this.#capture(write);
    if (!update) {
      // A check that found nothing to write (the usual case) leaves a dormant room dormant.
      if (dormant) this.#sleepAgain(dormant);
      return;
    }
    const ok = await this.#storeThenRelay(update, null, performance.now());
    if (!ok) throw new Error('the change could not be stored');
  }

  /** Resolves once every update received so far is stored and relayed (tests, shutdown). */
  async whenIdle(): Promise<void> {
    while (this.#inflight > 0) await this.#relayChain;
    await this.#relayChain;
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
      if (this.#state !== 'open' || this.#held) return;
      const missing = this.#integrate(stored, 'storage');
      if (missing) this.#sockets.broadcast(syncMessage(SyncStep.update, missing), null);
    } catch (error) {
      this.#fail(error);
    }
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
    if (wasOpen && gone) await this.#publish(BusKind.awareness, gone);
    await this.#relayChain;
    await this.#unsubscribe?.().catch(() => {});
    this.#unsubscribe = null;
    this.#doc?.destroy();
    this.#doc = null;
    this.#dormant = null;
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
        void this.#publish(BusKind.awareness, relayed);
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
    const diff = this.#doc
      ? Y.encodeStateAsUpdate(this.#doc, stateVector)
      : dormantDiff(this.#dormant!, stateVector, clocks);
    const reply = (): void => {
      if (this.#sockets.has(socket) && this.#state === 'open') {
        this.#sockets.send(socket, syncMessage(SyncStep.step2, diff));
      }
    };
    if (this.#inflight === 0) reply();
    else void this.#relayChain.then(reply);
  }

  #receiveUpdate(socket: RoomSocket, update: Uint8Array): void {
    const started = performance.now();
    // A fresh device's sync step 2: no structs, no deletions.
    if (isEmptyUpdate(update)) return;
    const dormant = this.#doc === null ? this.#dormant : null;
    try {
      this.#checkUpdate(update, (client) => this.#knownClock(client));
    } catch (error) {
      if (!(error instanceof ProtocolViolation) || error.reason !== 'missing-dependencies') {
        throw error;
      }
      // A valid update that builds on changes we never received (typed just after a reconnect,
      // or after a write that failed). Apply nothing, park nothing; instead ask this client for
      // everything we lack: its sync step 2 answer carries this update and its dependencies.
      this.#deps.metrics.reject('missing-dependencies');
      this.#sockets.send(socket, syncMessage(SyncStep.step1, this.#stateVector()));
      return;
    }
    // A device's sync step 2 usually brings nothing: a fresh device sends the empty update, a
    // returning one only deletions the room already holds. Neither is worth rebuilding a
    // dormant room's document for.
    if (dormant && changesNothing(dormant, update)) return;
    refuseOverQuota(this.#deps.docStore, this.#deps.log, this.spaceId, update, (client) =>
      this.#knownClock(client),
    );
    try {
      this.#live();
    } catch (error) {
      // The stored document itself cannot be loaded (written by an older version that let a
      // poisoned update through): nothing a device sends can help. See `admin.js repair-space`.
      this.#fail(error);
      return;
    }
    let effective: Uint8Array | null;
    try {
      effective = this.#integrate(update, socket);
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
    if (this.#busBacklog) {
      this.#busBacklog.push(message);
      return;
    }
    if (this.#state !== 'open') return;
    if (this.#held) {
      this.#held.push(() => this.#receiveFromBus(message));
      return;
    }
    try {
      if (message.kind === BusKind.update) this.#receiveRemoteUpdate(message.payload);
      else {
        this.#presence.receiveRemote(message.payload);
        this.#sockets.broadcast(awarenessMessage(message.payload), null);
      }
    } catch (error) {
      this.#deps.log.warn({ err: error, spaceId: this.spaceId }, 'pub/sub message dropped');
    }
  }

  #receiveRemoteUpdate(update: Uint8Array): void {
    try {
      this.#checkUpdate(update, (client) => this.#knownClock(client));
    } catch {
      // Another node stored it before publishing, so storage has what we are missing.
      void this.resyncFromStorage();
      return;
    }
    let effective: Uint8Array | null;
    try {
      effective = this.#integrate(update, 'remote');
    } catch (error) {
      this.#restore(error);
      return;
    }
    if (effective) this.#sockets.broadcast(syncMessage(SyncStep.update, effective), null);
  }

  // --- the document ------------------------------------------------------------------------

  /**
   * Applies an update and returns what it actually changed (null: nothing new). Throws if Yjs
   * throws; refuses to leave anything parked as pending.
   */
  #integrate(update: Uint8Array, origin: Origin): Uint8Array | null {
    this.#yieldReusedClientId(update);
    const effective = this.#capture((doc) => Y.applyUpdate(doc, update, origin));
    const store = this.#live().store;
    if (store.pendingStructs || store.pendingDs) {
      throw new Error('update left pending structs despite validation');
    }
    return effective;
  }

  /**
   * An update carrying new structs under the room's own Yjs client id makes Yjs pick a new id
   * and print a coloured line on stdout, which is not a JSON log line. Picking it first keeps
   * the logs clean; it is counted, since it means a device copied the server's id.
   */
  #yieldReusedClientId(update: Uint8Array): void {
    const doc = this.#live();
    const { to } = Y.parseUpdateMeta(update);
    const claimed = to.get(doc.clientID);
    if (claimed === undefined || claimed <= Y.getState(doc.store, doc.clientID)) return;
    do doc.clientID = random.uint32();
    while (to.has(doc.clientID) || Y.getState(doc.store, doc.clientID) > 0);
    this.#deps.metrics.clientIdChanges.inc();
    this.#deps.log.debug({ spaceId: this.spaceId }, 'an update reused the room’s client id');
  }

  /** Runs `apply` on the live document and returns what it changed, merged (null: nothing). */
  #capture(apply: (doc: Y.Doc) => void): Uint8Array | null {
    const doc = this.#live();
    this.#captured = [];
    let captured: Uint8Array[];
    try {
      apply(doc);
    } finally {
      captured = this.#captured;
      this.#captured = null;
    }
    if (captured.length === 0) return null;
    const changed = captured.length === 1 ? captured[0]! : Y.mergeUpdates(captured);
    this.#liveEncodedBytes += changed.byteLength;
    return changed;
  }

  /** The state vector of what the room holds, awake or dormant. */
  #stateVector(): Uint8Array {
    return this.#doc ? Y.encodeStateVector(this.#doc) : this.#dormant!.stateVector;
  }

  /** The next clock the room expects from `client`, read without waking a dormant room. */
  #knownClock(client: number): number {
    return this.#doc
      ? Y.getState(this.#doc.store, client)
      : (this.#dormant?.clocks.get(client) ?? 0);
  }

  /** Stores, then relays (in order of arrival). Resolves true once relayed, false on failure. */
  #storeThenRelay(update: Uint8Array, from: RoomSocket | null, started: number): Promise<boolean> {
    this.#inflight += 1;
    const stored = this.#deps.docStore.append(this.spaceId, update);
    // Handled below once earlier relays are done; this keeps an early failure from counting as
    // an unhandled rejection meanwhile.
    stored.catch(() => {});
    const relayed = this.#relayChain.then(() =>
      stored.then(
        () => {
          this.#inflight -= 1;
          if (this.#state !== 'open') return false;
          this.#sockets.broadcast(syncMessage(SyncStep.update, update), from);
          void this.#publish(BusKind.update, update);
          this.#deps.metrics.relaySeconds.observe((performance.now() - started) / 1000);
          return true;
        },
        (error: unknown) => {
          this.#inflight -= 1;
          this.#fail(error);
          return false;
        },
      ),
    );
    this.#relayChain = relayed.then(() => undefined);
    return relayed;
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
    if (this.#held) return;
    this.#held = [];
    void this.#rebuild();
  }

  async #rebuild(): Promise<void> {
    try {
      await this.whenIdle();
      const stored = await this.#deps.docStore.load(this.spaceId);
      if (this.#state === 'open') {
        this.#doc?.destroy();
        this.#doc = null;
        this.#dormant = dormantFromStored(stored);
      }
    } catch (error) {
      this.#fail(error);
    }
    const held = this.#held ?? [];
    this.#held = null;
    // Each looks at the room's state first. One may hold back again (another broken update);
    // those after it then wait behind it.
    for (const run of held) run();
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
    void this.#deps
      .spaceExists(this.spaceId)
      .catch(() => true)
      .then((exists) => {
        for (const socket of sockets)
          socket.close(exists ? CloseCode.serverError : CloseCode.spaceGone);
      })
      .finally(() => void this.close(CloseCode.serverError));
  }

  #sleep(): boolean {
    const doc = this.#doc;
    if (!doc || this.#inflight > 0 || this.#captured || this.#held || this.#state !== 'open') {
      return false;
    }
    const stateVector = Y.encodeStateVector(doc);
    this.#dormant = dormantFrom(
      Y.encodeStateAsUpdate(doc),
      stateVector,
      Y.encodeStateAsUpdate(doc, stateVector),
    );
    this.#doc = null;
    doc.destroy();
    return true;
  }

  /**
   * Back to `dormant`, taken just before a wake that changed nothing: it still matches the
   * document exactly (and keeps its cached deletions), so nothing is encoded again.
   */
  #sleepAgain(dormant: Dormant): void {
    const doc = this.#doc;
    if (!doc || this.#inflight > 0 || this.#captured || this.#state !== 'open') return;
    this.#dormant = dormant;
    this.#doc = null;
    doc.destroy();
  }

  /** The live document, woken from its encoded state if the room was dormant. */
  #live(): Y.Doc {
    this.#lastActive = this.#now();
    if (this.#doc) return this.#doc;
    const doc = new Y.Doc();
    this.#liveEncodedBytes = this.#dormant?.update.byteLength ?? 0;
    if (this.#dormant) {
      this.#deps.metrics.roomWakes.inc();
      Y.applyUpdate(doc, this.#dormant.update, 'storage');
    }
    // Listen only after restoring: restoring changes nothing that is not stored already.
    doc.on('update', (update: Uint8Array) => this.#captured?.push(update));
    this.#dormant = null;
    this.#doc = doc;
    return doc;
  }

  // --- sending -----------------------------------------------------------------------------

  #sendPresence(socket: RoomSocket): void {
    const presence = this.#presence.current();
    if (presence) this.#sockets.send(socket, awarenessMessage(presence));
  }

  /** Publishes to the other nodes; a failure is logged, never thrown (the promise never rejects). */
  #publish(kind: BusKind, payload: Uint8Array): Promise<void> {
    return this.#deps.bus.publish(this.spaceId, kind, payload).catch((error: unknown) => {
      this.#deps.log.warn({ err: error, spaceId: this.spaceId }, 'pub/sub publish failed');
    });
  }
}
