import type { LocalSpaceStore } from '../local/LocalSpaceStore.js';
import { toLocalStoreError, type LocalStoreError } from '../local/LocalStoreError.js';
import type { OutboxEntry, ReplicaRecord } from '../local/records.js';
import type { HeldSealOutcome } from './heldChanges.js';
import type { SealedReplica } from './SealedReplica.js';

type Write =
  | { readonly kind: 'local'; readonly entry: OutboxEntry; readonly update: Uint8Array | null }
  /** A write of its own (the held changes': storedHeld.ts), false when it stored nothing. */
  | {
      readonly kind: 'inLine';
      readonly run: () => Promise<boolean>;
      /** It stores a change: the device holds it only once this is written. */
      readonly change: boolean;
      readonly settled: ((outcome: HeldSealOutcome) => void) | null;
      told: boolean;
    }
  /** A carried envelope (its changes are in the document already) or, null, none was needed. */
  | { readonly kind: 'carried'; readonly entry: OutboxEntry | null }
  | { readonly kind: 'acknowledged'; readonly stream: number; readonly counter: number }
  | { readonly kind: 'received'; readonly updates: Uint8Array[]; state: ReplicaRecord }
  | { readonly kind: 'compact' };

export interface SessionWritesEvents {
  /** Whether every local change so far is committed, each time that changes. */
  saved(savedOnDevice: boolean): void;
  /** A write failed; it is tried again before anything after it is written. */
  problem(error: LocalStoreError): void;
}

/** Writes between two tries to merge the stored updates (`LocalSpaceStore.compact`). */
const COMPACT_EVERY = 100;

/**
 * A session's writes to the device's store, one at a time and in the order things happened, so
 * whatever a page leaves behind when it dies is a prefix of what it did: a change is never stored
 * after an acknowledgement or a replica state that depend on it, and the outbox keeps the order
 * the server must receive the envelopes in. A write that fails stays first in line and is tried
 * again on the next write or `flush()`; nothing after it is written before it (a later envelope
 * stored alone would go out before its predecessor after a reload, and the server would refuse it).
 *
 * Received updates wait in a batch until `flush` or `receivedLater` (one write per short pause),
 * taken with the replica's state at that moment; a local change first puts the batch in line,
 * so the change is never stored ahead of what it was written on top of.
 */
export class SessionWrites {
  readonly #store: LocalSpaceStore;
  readonly #replica: Pick<SealedReplica, 'since' | 'exportState'>;
  readonly #on: SessionWritesEvents;
  readonly #pauseMs: number;
  readonly #queue: Write[] = [];
  #received: Uint8Array[] = [];
  #queuedSince: number;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running: Promise<void> | null = null;
  #failing = false;
  #written = 0;

  constructor(
    store: LocalSpaceStore,
    replica: Pick<SealedReplica, 'since' | 'exportState'>,
    on: SessionWritesEvents,
    options: { pauseMs: number; storedSince: number },
  ) {
    this.#store = store;
    this.#replica = replica;
    this.#on = on;
    this.#pauseMs = options.pauseMs;
    this.#queuedSince = options.storedSince;
  }

  /** Whether every local change (and envelope) so far is committed. */
  get savedOnDevice(): boolean {
    return !this.#queue.some(
      (w) =>
        w.kind === 'local' ||
        (w.kind === 'inLine' && w.change) ||
        (w.kind === 'carried' && w.entry),
    );
  }

  /** A change made here and its envelope (`update` null: an envelope alone, a member statement). */
  local(entry: OutboxEntry, update: Uint8Array | null): void {
    this.#queueReceived();
    const wasSaved = this.savedOnDevice;
    this.#queue.push({ kind: 'local', entry, update });
    if (wasSaved) this.#on.saved(false);
    void this.#run();
  }

  /**
   * `run` in line after everything before, as the session's own writes are; `change`: it stores
   * a change made here. `settled` is called once: `stored` when `run` resolved true, `refused`
   * when false (it stored nothing), `failing` when the store failed first (the write stays in
   * line and is tried again).
   */
  inLine(
    run: () => Promise<boolean>,
    change: boolean,
    settled: ((outcome: HeldSealOutcome) => void) | null = null,
  ): void {
    this.#queueReceived();
    const wasSaved = this.savedOnDevice;
    this.#queue.push({ kind: 'inLine', run, change, settled, told: false });
    if (wasSaved && change) this.#on.saved(false);
    if (this.#failing) this.#tellFailing();
    void this.#run();
  }

  /**
   * The plaintext copy was carried over: `entry` is the carried envelope (stored with the copy
   * forgotten, in one write), or null when the log held all of it (the copy is forgotten).
   */
  carried(entry: OutboxEntry | null): void {
    this.#queueReceived();
    const wasSaved = this.savedOnDevice;
    this.#queue.push({ kind: 'carried', entry });
    if (wasSaved && entry !== null) this.#on.saved(false);
    void this.#run();
  }

  acknowledged(stream: number, counter: number): void {
    this.#queue.push({ kind: 'acknowledged', stream, counter });
    void this.#run();
  }

  /** An update the replica applied to the document. */
  received(update: Uint8Array): void {
    this.#received.push(update);
    this.receivedLater();
  }

  /** The replica moved (took something in): its state is written after a short pause. */
  receivedLater(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#queueReceived();
      void this.#run();
    }, this.#pauseMs);
  }

  /** Puts everything pending in line and resolves once the line is written or stuck. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queueReceived();
    return this.#run();
  }

  #queueReceived(): void {
    const since = this.#replica.since;
    if (this.#received.length === 0 && since <= this.#queuedSince) return;
    this.#queuedSince = since;
    const state: ReplicaRecord = { since, state: this.#replica.exportState() };
    const updates = this.#received;
    this.#received = [];
    // Behind a write that keeps failing, batches merge instead of piling up.
    const last = this.#queue.at(-1);
    if (last?.kind === 'received' && this.#queue.length > 1) {
      last.updates.push(...updates);
      last.state = state;
    } else {
      this.#queue.push({ kind: 'received', updates, state });
    }
  }

  #run(): Promise<void> {
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const next = this.#queue[0];
      if (!next) return;
      let sealed = true;
      try {
        sealed = await this.#write(next);
      } catch (error) {
        if (next.kind !== 'compact') {
          if (!this.#failing) this.#on.problem(toLocalStoreError(error));
          this.#failing = true;
          this.#tellFailing();
          return;
        }
        // Merging is an optimisation: a failed one leaves the updates as they were.
      }
      this.#failing = false;
      this.#queue.shift();
      if (next.kind === 'inLine' && !next.told) {
        next.told = true;
        next.settled?.(sealed ? 'stored' : 'refused');
      }
      if (++this.#written % COMPACT_EVERY === 0) this.#queue.push({ kind: 'compact' });
      if (
        (next.kind === 'local' || next.kind === 'inLine' || next.kind === 'carried') &&
        this.savedOnDevice
      ) {
        this.#on.saved(true);
      }
    }
  }

  /** Writes waiting behind a failed one are told so (sealed held changes go out unstored). */
  #tellFailing(): void {
    for (const w of this.#queue) {
      if (w.kind !== 'inLine' || w.told) continue;
      w.told = true;
      w.settled?.('failing');
    }
  }

  /** Writes `w`; false when it stored nothing (`inLine`). */
  async #write(w: Write): Promise<boolean> {
    switch (w.kind) {
      case 'local':
        if (w.update === null) await this.#store.saveEnvelope(w.entry);
        else await this.#store.saveLocalChange(w.update, w.entry);
        return true;
      case 'inLine':
        return w.run();
      case 'carried':
        if (w.entry === null) await this.#store.dropCarry();
        else await this.#store.saveCarried(w.entry);
        return true;
      case 'acknowledged':
        await this.#store.acknowledge(w.stream, w.counter);
        return true;
      case 'received':
        await this.#store.saveReceived(w.updates, w.state);
        return true;
      case 'compact':
        await this.#store.compact();
        return true;
    }
  }
}
