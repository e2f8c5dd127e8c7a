import { EnvelopeKind } from '@mend/protocol';
import type { Receipt, SealedReplica, SetAside } from './SealedReplica.js';

export interface InOrderEvents {
  /** The replica took in (applied, or kept aside) the envelope at `seq`. */
  receipt(receipt: Receipt, seq: number): void;
  /** The server left out seqs it must have served; `missing` is what the replica recorded. */
  missing(missing: SetAside): void;
  /** Something waits behind a missing seq for too long: ask the server again from `since`. */
  askAgain(): void;
}

/**
 * The provider's reorder buffer: envelopes the server served wait here until the replica can
 * take them in strictly by seq. The server hands a socket each seq once and in order, but this
 * device's own envelopes come back as acks, and a socket may be replaced mid-way; so an envelope
 * waits until the one before it was taken in. A wait that lasts asks the server again; a
 * complete backlog that still lacks a seq means the server left it out (`passOverMissing`).
 */
export class InOrder {
  readonly #replica: SealedReplica;
  readonly #on: InOrderEvents;
  readonly #pending = new Map<number, { bytes: Uint8Array; own: boolean }>();
  #gapTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(replica: SealedReplica, on: InOrderEvents) {
    this.#replica = replica;
    this.#on = on;
  }

  /** How many envelopes wait. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * An envelope served at `seq`. `own`: this device's, acknowledged (it is not applied again);
   * an ack wins over a copy of the same envelope that came in a backlog.
   */
  add(seq: number, bytes: Uint8Array, own: boolean): void {
    if (seq <= this.#replica.since) return;
    if (!this.#pending.has(seq) || own) this.#pending.set(seq, { bytes, own });
  }

  /** Takes in everything that now follows `since`, in order. */
  drain(): void {
    const replica = this.#replica;
    for (;;) {
      // A snapshot sits at the seq it covers and may jump ahead of `since`.
      const following = this.#pending.get(replica.since + 1);
      const next = following
        ? { seq: replica.since + 1, ...following }
        : this.#firstSnapshotAhead();
      if (!next) break;
      const before = replica.since;
      this.#pending.delete(next.seq);
      const receipt = next.own
        ? replica.receiveOwn(next.seq, next.bytes)
        : replica.receive(next.seq, next.bytes);
      this.#on.receipt(receipt, next.seq);
      if (replica.since === before) break;
    }
    for (const seq of this.#pending.keys()) if (seq <= replica.since) this.#pending.delete(seq);
    this.#watchGap();
  }

  /**
   * A backlog whose last part said `head` hands over every seq up to it (docs/protocol.md,
   * "Sequence rules"). Whatever is still missing up to there, the server left out (deleted it
   * from storage, or never served it): waiting would stall this device for good, so the
   * replica records each gap as missing and syncing goes on past it. The stream the missing
   * envelope belonged to shows the hole at its next envelope, which is kept aside as out of order.
   */
  passOverMissing(head: number): void {
    const replica = this.#replica;
    this.drain();
    while (replica.since < head && !this.#pending.has(replica.since + 1)) {
      let through = replica.since + 1;
      while (through < head && !this.#pending.has(through + 1)) through++;
      this.#on.missing(replica.passOver(through));
      this.drain();
    }
  }

  dispose(): void {
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    this.#pending.clear();
  }

  #firstSnapshotAhead(): { seq: number; bytes: Uint8Array; own: boolean } | undefined {
    let first: number | null = null;
    for (const seq of this.#pending.keys()) if (first === null || seq < first) first = seq;
    if (first === null || first <= this.#replica.since) return undefined;
    const entry = this.#pending.get(first)!;
    // The envelope's kind is its second byte (docs/protocol.md, "Envelopes").
    return entry.bytes[1] === EnvelopeKind.snapshot ? { seq: first, ...entry } : undefined;
  }

  #watchGap(): void {
    if (this.#pending.size === 0) {
      if (this.#gapTimer) clearTimeout(this.#gapTimer);
      this.#gapTimer = null;
      return;
    }
    if (this.#gapTimer) return;
    this.#gapTimer = setTimeout(() => {
      this.#gapTimer = null;
      if (this.#pending.size > 0) this.#on.askAgain();
    }, GAP_WAIT_MS);
  }
}

/** How long an envelope waits for the one before it before the device asks the server again. */
const GAP_WAIT_MS = 2_000;
