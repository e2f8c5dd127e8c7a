import type { SpaceId } from '@mend/protocol';
import * as random from 'lib0/random';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  dormantBytes,
  dormantDiff,
  dormantFrom,
  dormantFromStored,
  type Dormant,
} from './dormant.js';
import type { RoomSocket } from './RoomSocket.js';

/**
 * Heap a live Y.Doc takes per byte of its encoded state: 14.5 to 15 measured for one and five
 * years of a couple's use (tests/bench/lib/fiveYears.mjs), 13 for plain typing.
 */
const LIVE_BYTES_PER_ENCODED_BYTE = 15;

/** Where an update applied to the document came from (Yjs's transaction origin). */
export type UpdateOrigin = RoomSocket | 'local' | 'remote' | 'storage';

export interface RoomDocumentDeps {
  metrics: Metrics;
  log: Logger;
  now: () => number;
}

/**
 * One room's document, live or asleep, and how updates are applied to it. The live document
 * exists while the room is active. An idle room drops it and keeps only the encoded state
 * (`Dormant`), which costs a tenth of the memory and still answers sync step 1 (Y.diffUpdate);
 * the next update wakes it. Whether the room may sleep (no write pending, no rebuild under
 * way) is the room's to decide; this only refuses while an update is being applied.
 */
export class RoomDocument {
  readonly #spaceId: SpaceId;
  readonly #deps: RoomDocumentDeps;
  #doc: Y.Doc | null = null;
  #dormant: Dormant | null = null;
  /** Encoded size of what the live document holds: its state when woken plus changes since. */
  #liveEncodedBytes = 0;
  #lastActive: number;
  /** Updates captured from the document while we apply one (see `capture`). */
  #captured: Uint8Array[] | null = null;

  /** An empty document; `reload` gives it the stored state. */
  constructor(spaceId: SpaceId, deps: RoomDocumentDeps) {
    this.#spaceId = spaceId;
    this.#deps = deps;
    this.#lastActive = deps.now();
  }

  /** Whether the room holds a live Y.Doc (false: only its encoded state). */
  get isAwake(): boolean {
    return this.#doc !== null;
  }

  /** The encoded state while asleep (null while awake): taken before a wake, for `sleepAgain`. */
  get dormant(): Dormant | null {
    return this.#doc === null ? this.#dormant : null;
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

  /** Drops the live document, if any, and sleeps on `stored` (bytes a store loaded). */
  reload(stored: Uint8Array): void {
    this.#doc?.destroy();
    this.#doc = null;
    this.#dormant = dormantFromStored(stored);
  }

  /** Drops everything; the room is closing. */
  destroy(): void {
    this.#doc?.destroy();
    this.#doc = null;
    this.#dormant = null;
  }

  /** The live document, woken from its encoded state if it was asleep. */
  live(): Y.Doc {
    this.#lastActive = this.#deps.now();
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

  /** The state vector of what the room holds, awake or asleep. */
  stateVector(): Uint8Array {
    return this.#doc ? Y.encodeStateVector(this.#doc) : this.#dormant!.stateVector;
  }

  /** The next clock the room expects from `client`, read without waking the document. */
  knownClock(client: number): number {
    return this.#doc
      ? Y.getState(this.#doc.store, client)
      : (this.#dormant?.clocks.get(client) ?? 0);
  }

  /** What a device at `stateVector` (decoded: `clocks`) lacks, without waking the document. */
  diff(stateVector: Uint8Array, clocks: Map<number, number>): Uint8Array {
    return this.#doc
      ? Y.encodeStateAsUpdate(this.#doc, stateVector)
      : dormantDiff(this.#dormant!, stateVector, clocks);
  }

  /**
   * Applies an update and returns what it actually changed (null: nothing new). Throws if Yjs
   * throws; refuses to leave anything parked as pending.
   */
  integrate(update: Uint8Array, origin: UpdateOrigin): Uint8Array | null {
    this.#yieldReusedClientId(update);
    const effective = this.capture((doc) => Y.applyUpdate(doc, update, origin));
    const store = this.live().store;
    if (store.pendingStructs || store.pendingDs) {
      throw new Error('update left pending structs despite validation');
    }
    return effective;
  }

  /** Runs `apply` on the live document and returns what it changed, merged (null: nothing). */
  capture(apply: (doc: Y.Doc) => void): Uint8Array | null {
    const doc = this.live();
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

  /** Drops the live document, keeping its encoded state. Returns whether it went to sleep. */
  sleep(): boolean {
    const doc = this.#doc;
    if (!doc || this.#captured) return false;
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
  sleepAgain(dormant: Dormant): void {
    const doc = this.#doc;
    if (!doc || this.#captured) return;
    this.#dormant = dormant;
    this.#doc = null;
    doc.destroy();
  }

  /**
   * An update carrying new structs under the room's own Yjs client id makes Yjs pick a new id
   * and print a coloured line on stdout, which is not a JSON log line. Picking it first keeps
   * the logs clean; it is counted, since it means a device copied the server's id.
   */
  #yieldReusedClientId(update: Uint8Array): void {
    const doc = this.live();
    const { to } = Y.parseUpdateMeta(update);
    const claimed = to.get(doc.clientID);
    if (claimed === undefined || claimed <= Y.getState(doc.store, doc.clientID)) return;
    do doc.clientID = random.uint32();
    while (to.has(doc.clientID) || Y.getState(doc.store, doc.clientID) > 0);
    this.#deps.metrics.clientIdChanges.inc();
    this.#deps.log.debug({ spaceId: this.#spaceId }, 'an update reused the room’s client id');
  }
}
