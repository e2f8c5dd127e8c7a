import type { StoredEnvelope } from '@mend/protocol';
import type { RoomSocket } from '../sync/RoomSocket.js';

/** The socket that submitted an envelope, owed an `ack` when it is released. */
export interface Sender {
  readonly socket: RoomSocket;
  readonly stream: number;
  readonly counter: number;
}

/** Where a sequence releases to (its relay: an object, so a room holds no closure for it). */
export interface ReleaseTarget {
  /** Releases `seq` to the room's sockets: `from` is its sender on this process, if any. */
  release(seq: number, envelope: Uint8Array, from: Sender | null): void;
}

interface Waiting {
  readonly envelope: Uint8Array;
  readonly from: Sender | null;
}

/**
 * A room's stored envelopes, released to its sockets in seq order with no gap: every seq after
 * the head the room loaded with, once. Stored envelopes arrive out of order (this process's
 * appends to PostgreSQL resolve in any order, other nodes publish through Redis); one that
 * arrives ahead of a missing seq waits here until the seq before it is released, by a later
 * arrival or by `fill` from storage (the room notices `hasGap` and reads what it missed).
 */
export class SealedSequence {
  readonly #target: ReleaseTarget;
  /** What waits behind a missing seq, by seq; null while nothing does (most rooms, always). */
  #waiting: Map<number, Waiting> | null = null;
  #released = 0;

  constructor(target: ReleaseTarget) {
    this.#target = target;
  }

  /** Starts after `head`: what storage held when the room loaded. */
  start(head: number): void {
    this.#released = head;
  }

  /** The highest seq released. */
  get released(): number {
    return this.#released;
  }

  /** Whether something waits behind a missing seq. */
  get hasGap(): boolean {
    return this.#waiting !== null;
  }

  /** Bytes of what waits (memory estimates). */
  get waitingBytes(): number {
    let bytes = 0;
    for (const { envelope } of this.#waiting?.values() ?? []) bytes += envelope.byteLength;
    return bytes;
  }

  /**
   * A stored envelope, from this process (`from`: its sender) or another node. Returns 'old' if
   * its seq was released already (another path brought it first), else 'accepted': released now,
   * with whatever it unblocks, or waiting behind a gap.
   */
  offer(seq: number, envelope: Uint8Array, from: Sender | null): 'old' | 'accepted' {
    if (seq <= this.#released) return 'old';
    if (seq === this.#released + 1 && this.#waiting === null) {
      // The usual case, in order with nothing waiting: released without a stop in the map.
      this.#released = seq;
      this.#target.release(seq, envelope, from);
      return 'accepted';
    }
    const waiting = (this.#waiting ??= new Map());
    waiting.set(seq, { envelope, from: from ?? waiting.get(seq)?.from ?? null });
    this.#drain();
    return 'accepted';
  }

  /** Envelopes read from storage after `released`, in seq order: fills the gaps. */
  fill(entries: readonly StoredEnvelope[]): void {
    for (const { seq, envelope } of entries) {
      // An entry that waits already knows its sender; the stored copy is the same bytes.
      if (seq > this.#released && !this.#waiting?.has(seq)) {
        (this.#waiting ??= new Map()).set(seq, { envelope, from: null });
      }
    }
    this.#drain();
  }

  #drain(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    let next = waiting.get(this.#released + 1);
    while (next) {
      waiting.delete(this.#released + 1);
      this.#released += 1;
      this.#target.release(this.#released, next.envelope, next.from);
      next = waiting.get(this.#released + 1);
    }
    // Dropped once empty: `hasGap` is a null check, and an idle room holds no map.
    if (waiting.size === 0) this.#waiting = null;
  }
}
