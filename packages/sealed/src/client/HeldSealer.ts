import * as Y from 'yjs';
import type { OutboxEntry } from '../local/records.js';
import type { StreamWriter } from '../StreamWriter.js';
import type { HeldChanges, HeldSealOutcome } from './heldChanges.js';
import type { Outbox } from './Outbox.js';
import type { SealedReplica } from './SealedReplica.js';

/** How often a page asks again for a stream another open page holds changes on. */
const ASK_AGAIN_MS = 5000;

/** What a HeldSealer needs of its provider. */
export interface HeldSealerHost {
  readonly replica: SealedReplica;
  readonly outbox: Outbox;
  /** This device's signing key: an earlier page's stream is continued only if it is this device's. */
  readonly device: Uint8Array;
  /** Bytes of held changes (their updates' sizes added) sealed into one envelope at most. */
  readonly perEnvelope: number;
  /** Where each of this page's streams stands; an earlier page's stream is added once sealed on. */
  readonly writers: Map<number, StreamWriter>;
  /**
   * A writer of `stream` after `head` (from its start without one), and an envelope's hash:
   * handed in, so that this module, loaded on demand, brings no code of its own for them.
   */
  writer(
    stream: number,
    head?: { readonly counter: number; readonly hash: Uint8Array },
  ): StreamWriter;
  hash(envelope: Uint8Array): Uint8Array;
  /** Whether the socket is open, and whether the log is taken in whole. */
  isOpen(): boolean;
  isSynced(): boolean;
  /**
   * Runs `run` once everything this page asked to seal before is sealed: a stream's writer stands
   * still then.
   */
  afterSealing(run: () => void): void;
  /**
   * Seals each of `payloads` as the next update envelope of `writer`'s stream, in order, after
   * anything asked for before them, and hands them over once the last is sealed.
   */
  sealAll(
    writer: StreamWriter,
    payloads: readonly Uint8Array[],
    sealed: (entries: OutboxEntry[]) => void,
  ): void;
  /** Sends an envelope now, after whatever is still being resent. */
  send(entry: OutboxEntry): void;
  /** Seals a change of `stream` at once after all: this page may not hold that stream. */
  sealNow(stream: number, update: Uint8Array): void;
  /** The number of changes waiting may have changed. */
  changed(): void;
  /** Another page sealed what this one held on `stream`: nothing more may be written on it. */
  lost(stream: number): void;
  /** Nothing is held, waiting or being sealed any more. */
  caughtUp(): void;
}

/**
 * The changes a provider holds while it is not connected (docs/protocol.md, "Changes made
 * offline"), and earlier pages' that it finds in the store, sealed once it is connected: one
 * envelope per stream, or a few of `perEnvelope` bytes of changes, stream after stream in the
 * order they were made, since a change may build on one made before it on another stream, and
 * a device refuses an update whose dependencies the log lacks (`missing-dependencies`). So while
 * anything is held, a change made now is held too, even online, and goes after it.
 *
 * A page holds and seals only the streams it owns (`HeldChanges.own`): its own, and an earlier
 * page's once that page is gone. An earlier page's stream continues from its last envelope in the
 * log or the outbox, once the log is taken in, without what the log holds already (that page may
 * have sent part of it before it was gone). Changes another open page holds are that page's to
 * send: this one waits until the log holds them, or until it may take them over.
 */
export class HeldSealer {
  readonly #holding: HeldChanges;
  readonly #host: HeldSealerHost;
  readonly #owned = new Set<number>();
  readonly #denied = new Set<number>();
  readonly #asking = new Set<number>();
  /** Held changes not sealed yet, per stream, streams in the order they are to be sealed. */
  readonly #unsealed = new Map<number, Uint8Array[]>();
  /** Changes made while something is held, on a stream not known yet to be this page's. */
  #parked: { readonly stream: number; readonly update: Uint8Array }[] = [];
  /** The stream whose sealed changes the store is writing; they are sent once it has. */
  #sealing: number | null = null;
  /** Another open page's held changes, merged once: checked against the log as it grows. */
  readonly #theirs = new Map<number, Uint8Array>();
  #askAgain: ReturnType<typeof setTimeout> | null = null;
  #destroyed = false;

  constructor(holding: HeldChanges, host: HeldSealerHost) {
    this.#holding = holding;
    this.#host = host;
    for (const [stream, updates] of holding.earlier) {
      if (updates.length > 0) this.#unsealed.set(stream, [...updates]);
    }
    for (const stream of this.#unsealed.keys()) void this.ask(stream);
  }

  /** Changes held, waiting or being sealed: not sent yet. */
  get count(): number {
    let count = this.#parked.length;
    for (const updates of this.#unsealed.values()) count += updates.length;
    return count;
  }

  /** Whether anything is held, waiting or being sealed: a change made now goes after it. */
  get behind(): boolean {
    return this.#unsealed.size > 0 || this.#parked.length > 0 || this.#sealing !== null;
  }

  /** Whether changes are held on `stream` (an earlier page's stream among them). */
  holds(stream: number): boolean {
    return this.#unsealed.has(stream) || this.#sealing === stream;
  }

  /**
   * Whether changes of `stream` that were waiting for their signature may be held now, ahead of
   * everything held (`holdFirst`): the stream is this page's and nothing is held on it, so they
   * go before nothing made after them.
   */
  mayHoldFirst(stream: number): boolean {
    return this.#owned.has(stream) && !this.holds(stream);
  }

  /**
   * Holds changes this page made online that were waiting for their signature when it had to
   * settle (`LocalSealing.settle`): made before anything held now, so sealed first, in order.
   */
  holdFirst(changes: readonly { readonly stream: number; readonly change: Uint8Array }[]): void {
    const first = new Map<number, Uint8Array[]>();
    for (const { stream, change } of changes) {
      const updates = first.get(stream) ?? [];
      updates.push(change);
      first.set(stream, updates);
      this.#holding.hold(stream, change);
    }
    const rest = [...this.#unsealed];
    this.#unsealed.clear();
    for (const [stream, updates] of [...first, ...rest]) this.#unsealed.set(stream, updates);
    this.#host.changed();
    this.next();
  }

  /**
   * A change made on this page with `stream`: true when it is held (or waits to know whether it
   * may be), false when the provider seals it now, as every change made online is.
   */
  take(stream: number, update: Uint8Array): boolean {
    void this.ask(stream);
    const behind = this.behind;
    if (this.#owned.has(stream) && (!this.#host.isOpen() || behind)) {
      this.#hold(stream, update);
      return true;
    }
    if (behind && this.#asking.has(stream)) {
      this.#parked.push({ stream, update });
      this.#host.changed();
      return true;
    }
    return false;
  }

  /**
   * Asks whether this page may hold `stream`'s changes (`again`: after a no); resolves once
   * answered (at once when it was before, or is being asked).
   */
  ask(stream: number, again = false): Promise<void> {
    if (this.#owned.has(stream) || this.#asking.has(stream)) return Promise.resolve();
    if (this.#denied.has(stream) && !again) return Promise.resolve();
    this.#asking.add(stream);
    const answer = this.#holding.own(stream);
    if (typeof answer === 'boolean') {
      this.#answered(stream, answer);
      return Promise.resolve();
    }
    return answer.then(
      (mine) => this.#answered(stream, mine),
      () => this.#answered(stream, false),
    );
  }

  /** The log is taken in: earlier pages' streams can go now, and those another page held may be this one's. */
  synced(): void {
    for (const stream of this.#unsealed.keys()) {
      if (!this.#host.writers.has(stream)) void this.ask(stream, true);
    }
    this.next();
  }

  /** Seals the first stream's held changes if it can now (connected, that stream's turn). */
  next(): void {
    if (this.#destroyed || this.#sealing !== null || !this.#host.isOpen()) return;
    const first = this.#unsealed.entries().next();
    if (first.done) {
      if (this.#parked.length === 0) this.#host.caughtUp();
      return;
    }
    const [stream, updates] = first.value;
    const mine = this.#host.writers.get(stream);
    if (mine === undefined && !this.#host.isSynced()) return;
    if (!this.#owned.has(stream)) {
      // Another open page holds them and sends them; what comes after waits for the log, or
      // for that page to close (then this one takes them over).
      let theirs = this.#theirs.get(stream);
      if (theirs === undefined) this.#theirs.set(stream, (theirs = mergeAll(updates)));
      if (this.#host.replica.notInLog(theirs) === null) this.#forget(stream);
      else this.#askAgainLater(stream);
      return;
    }
    // Being sealed from now on: what is made meanwhile goes after it.
    this.#sealing = stream;
    this.#host.afterSealing(() => this.#seal(stream, updates));
  }

  destroy(): void {
    this.#destroyed = true;
    if (this.#askAgain) clearTimeout(this.#askAgain);
  }

  /**
   * Seals `stream`'s held changes once what this page sealed before is (its writer stands still
   * then), stores them with their envelopes in one step, then sends them.
   */
  #seal(stream: number, updates: readonly Uint8Array[]): void {
    if (this.#destroyed) return;
    const mine = this.#host.writers.get(stream);
    const writer = mine ? this.#copyOf(mine) : this.#writerAfter(stream);
    if (writer === null) {
      // Another device wrote with that client id: these cannot be sent on it, and must not
      // keep everything after them waiting.
      this.#sealing = null;
      this.#forget(stream);
      return;
    }
    const payloads: Uint8Array[] = [];
    for (const merged of inGroups(updates, this.#host.perEnvelope)) {
      const payload = mine ? merged : this.#host.replica.notInLog(merged);
      if (payload !== null) payloads.push(payload);
    }
    const count = updates.length;
    this.#host.sealAll(writer, payloads, (entries) =>
      this.#holding.seal(stream, count, entries, (outcome) =>
        this.#sealed(stream, count, writer, entries, outcome),
      ),
    );
  }

  #askAgainLater(stream: number): void {
    if (this.#askAgain || this.#asking.has(stream)) return;
    this.#askAgain = setTimeout(() => {
      this.#askAgain = null;
      if (!this.#destroyed && this.#unsealed.has(stream)) void this.ask(stream, true);
    }, ASK_AGAIN_MS);
  }

  #hold(stream: number, update: Uint8Array): void {
    const updates = this.#unsealed.get(stream) ?? [];
    updates.push(update);
    this.#unsealed.set(stream, updates);
    this.#holding.hold(stream, update);
    this.#host.changed();
  }

  #answered(stream: number, mine: boolean): void {
    this.#asking.delete(stream);
    if (this.#destroyed) return;
    if (mine) this.#owned.add(stream);
    else this.#denied.add(stream);
    const parked = this.#parked.filter((p) => p.stream === stream);
    this.#parked = this.#parked.filter((p) => p.stream !== stream);
    for (const { update } of parked) {
      if (mine) this.#hold(stream, update);
      else this.#host.sealNow(stream, update);
    }
    this.next();
  }

  #sealed(
    stream: number,
    count: number,
    writer: StreamWriter,
    entries: readonly OutboxEntry[],
    outcome: HeldSealOutcome,
  ): void {
    this.#sealing = null;
    if (this.#destroyed) return;
    if (outcome === 'refused') {
      // Another page sealed them (a lock did not keep it out): leave the rest to the store.
      this.#owned.delete(stream);
      this.#denied.add(stream);
      this.#unsealed.delete(stream);
      this.#host.writers.delete(stream);
      this.#host.lost(stream);
    } else {
      // Stored, or the store is failing: then they go out unstored, as changes sealed online do.
      this.#host.writers.set(stream, writer);
      const left = (this.#unsealed.get(stream) ?? []).slice(count);
      if (left.length > 0) this.#unsealed.set(stream, left);
      else this.#unsealed.delete(stream);
      this.#host.outbox.addStored(entries);
      for (const entry of entries) this.#host.send(entry);
    }
    this.#host.changed();
    this.next();
  }

  /** Stops waiting for `stream`'s changes here (the store keeps what it holds of them). */
  #forget(stream: number): void {
    this.#unsealed.delete(stream);
    this.#theirs.delete(stream);
    this.#host.changed();
    this.next();
  }

  /**
   * Where an earlier page's stream stands: its last envelope, in the log or still in the outbox.
   * Null when another device wrote with that client id.
   */
  #writerAfter(stream: number): StreamWriter | null {
    const { replica, outbox, device } = this.#host;
    if (!replica.streamMayBe(stream, device)) return null;
    let head = replica.chainHead(stream) ?? undefined;
    for (const e of outbox.entries()) {
      if (e.stream === stream && e.counter > (head?.counter ?? 0)) {
        head = { counter: e.counter, hash: this.#host.hash(e.envelope) };
      }
    }
    return this.#host.writer(stream, head);
  }

  /** A writer at the same place as `writer`, to seal ahead without moving it. */
  #copyOf(writer: StreamWriter): StreamWriter {
    const { stream, counter, prev } = writer.next();
    return this.#host.writer(stream, { counter: counter - 1, hash: prev });
  }
}

function mergeAll(updates: readonly Uint8Array[]): Uint8Array {
  return updates.length === 1 ? updates[0]! : Y.mergeUpdates([...updates]);
}

/** `updates` merged into as few as hold about `budget` bytes each, in order. */
function inGroups(updates: readonly Uint8Array[], budget: number): Uint8Array[] {
  const merged: Uint8Array[] = [];
  let group: Uint8Array[] = [];
  let size = 0;
  for (const update of updates) {
    if (group.length > 0 && size + update.length > budget) {
      merged.push(mergeAll(group));
      group = [];
      size = 0;
    }
    group.push(update);
    size += update.length;
  }
  if (group.length > 0) merged.push(mergeAll(group));
  return merged;
}
