import type { StoredEnvelope } from '@mend/protocol';
import type { RoomSocket } from '../sync/RoomSocket.js';

/** The socket that submitted an envelope, owed an `ack` when it is released. */
export interface Sender {
  readonly socket: RoomSocket;
  readonly stream: number;
  readonly counter: number;
}

/** Releases `seq` to the room's sockets: `from` is its sender on this process, if any. */
export type Release = (seq: number, envelope: Uint8Array, from: Sender | null) => void;

/**
 * A room's stored envelopes, released to its sockets in seq order with no gap: every seq after
 * the head the room loaded with, once. Stored envelopes arrive out of order (this process's
 * appends to PostgreSQL resolve in any order, other nodes publish through Redis); one that
 * arrives ahead of a missing seq waits here until the seq before it is released, by a later
 * arrival or by `fill` from storage (the room notices `hasGap` and reads what it missed).
 */
export class SealedSequence {
  readonly #onRelease: Release;
  readonly #waiting = new Map<number, { envelope: Uint8Array; from: Sender | null }>();
  #released = 0;

  constructor(onRelease: Release) {
    this.#onRelease = onRelease;
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
    return this.#waiting.size > 0;
  }

  /** Bytes of what waits (memory estimates). */
  get waitingBytes(): number {
    let bytes = 0;
    for (const { envelope } of this.#waiting.values()) bytes += envelope.byteLength;
    return bytes;
  }

  /**
   * A stored envelope, from this process (`from`: its sender) or another node. Returns 'old' if
   * its seq was released already (another path brought it first), else 'accepted': released now,
   * with whatever it unblocks, or waiting behind a gap.
   */
  offer(seq: number, envelope: Uint8Array, from: Sender | null): 'old' | 'accepted' {
    if (seq <= this.#released) return 'old';
    if (seq === this.#released + 1 && this.#waiting.size === 0) {
      // The usual case, in order with nothing waiting: released without a stop in the map.
      this.#released = seq;
      this.#onRelease(seq, envelope, from);
      return 'accepted';
    }
    const waiting = this.#waiting.get(seq);
    this.#waiting.set(seq, { envelope, from: from ?? waiting?.from ?? null });
    this.#drain();
    return 'accepted';
  }

  /** Envelopes read from storage after `released`, in seq order: fills the gaps. */
  fill(entries: readonly StoredEnvelope[]): void {
    for (const { seq, envelope } of entries) {
      // An entry that waits already knows its sender; the stored copy is the same bytes.
      if (seq > this.#released && !this.#waiting.has(seq)) {
        this.#waiting.set(seq, { envelope, from: null });
      }
    }
    this.#drain();
  }

  #drain(): void {
    let next = this.#waiting.get(this.#released + 1);
    while (next) {
      this.#waiting.delete(this.#released + 1);
      this.#released += 1;
      this.#onRelease(this.#released, next.envelope, next.from);
      next = this.#waiting.get(this.#released + 1);
    }
  }
}
