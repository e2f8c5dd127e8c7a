import { EnvelopeKind } from '@mend/protocol';
import {
  SetAsideReason,
  type CandidateKey,
  type Receipt,
  type SealedReplica,
  type SetAside,
} from './SealedReplica.js';

export interface InOrderEvents {
  /** The replica took in (applied, or kept aside) the envelope at `seq`. */
  receipt(receipt: Receipt, seq: number): void;
  /** The server left out seqs it must have served; `missing` is what the replica recorded. */
  missing(missing: SetAside): void;
  /** Something waits behind a missing seq for too long: ask the server again from `since`. */
  askAgain(): void;
  /**
   * A snapshot sealed under an epoch this device does not hold is next: the candidate keys to
   * offer it, or `wait` while they are fetched (then `drain()` again).
   */
  keysFor?(): readonly CandidateKey[] | 'wait';
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
  /**
   * Where a snapshot it lacks the key for stops it: `keys` while candidate keys are fetched, or
   * the seq of one that no key opened, waited before until `retry()` (the next connection).
   */
  #blocked: 'keys' | number | null = null;

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
      // Taken in, a rules statement may have paused it: nothing after it is read.
      if (replica.paused !== null) break;
      // A snapshot sits at the seq it covers and may jump ahead of `since`.
      const following = this.#pending.get(replica.since + 1);
      const next = following
        ? { seq: replica.since + 1, ...following }
        : this.#firstSnapshotAhead();
      if (!next) break;
      let candidates: readonly CandidateKey[] = [];
      const snapshot = !next.own && next.bytes[1] === EnvelopeKind.snapshot;
      if (snapshot && replica.keyWanted(next.bytes) !== null) {
        if (this.#blocked === next.seq) break;
        const keys = this.#on.keysFor?.() ?? [];
        this.#blocked = keys === 'wait' ? 'keys' : null;
        if (keys === 'wait') break;
        candidates = keys;
      }
      const before = replica.since;
      this.#pending.delete(next.seq);
      const receipt = next.own
        ? replica.receiveOwn(next.seq, next.bytes)
        : replica.receive(next.seq, next.bytes, candidates);
      this.#on.receipt(receipt, next.seq);
      if (replica.since === before) {
        if (heldBack(receipt)) {
          // Kept, to be tried again on the next connection rather than asked for every 2 s.
          this.#blocked = next.seq;
          this.#pending.set(next.seq, { bytes: next.bytes, own: false });
        }
        break;
      }
    }
    if (this.#stopAtPause()) return;
    for (const seq of this.#pending.keys()) if (seq <= replica.since) this.#pending.delete(seq);
    this.#watchGap();
  }

  /**
   * A replica paused at a rules version it does not know takes nothing more: what waits is
   * dropped (served again once a newer Mend picks up from `since`), and nothing is asked for.
   */
  #stopAtPause(): boolean {
    if (this.#replica.paused === null) return false;
    this.#pending.clear();
    if (this.#gapTimer) clearTimeout(this.#gapTimer);
    this.#gapTimer = null;
    return true;
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
    // The snapshot it waits before explains the positions before it; a pause, all of them.
    if (this.#blocked !== null || replica.paused !== null) return;
    while (replica.since < head && !this.#pending.has(replica.since + 1)) {
      let through = replica.since + 1;
      while (through < head && !this.#pending.has(through + 1)) through++;
      this.#on.missing(replica.passOver(through));
      this.drain();
    }
  }

  /** A new connection: a snapshot held back for its key is tried again. */
  retry(): void {
    this.#blocked = null;
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
    if (this.#pending.size === 0 || this.#blocked !== null) {
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

/** A snapshot set aside for a key it lacks, and not passed (`since` stayed before it). */
function heldBack(receipt: Receipt): boolean {
  return receipt.kind === 'set-aside' && receipt.entry.reason === SetAsideReason.unopenedKey;
}

/** How long an envelope waits for the one before it before the device asks the server again. */
const GAP_WAIT_MS = 2_000;
