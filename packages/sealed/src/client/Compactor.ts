import type { SealedReplica } from './SealedReplica.js';

export interface CompactorOptions {
  readonly replica: SealedReplica;
  /** Envelopes after the last known snapshot before this device writes one (docs/protocol.md). */
  readonly every: number;
  /** Seals the snapshot payload as a snapshot envelope covering `covers` and sends it. */
  readonly send: (covers: { seq: number; hash: Uint8Array }, payload: Uint8Array) => void;
}

/**
 * Decides when this device writes a snapshot ("Snapshots (client compaction)"): once the log
 * holds `every` envelopes after the last snapshot it knows of, seen in a backlog or written here.
 * Either partner's device may write it and only one needs to succeed, so a refusal (most often
 * `stale`: the other device was first) only moves the next try `every` envelopes on.
 */
export class Compactor {
  readonly #o: CompactorOptions;
  /** The seq a snapshot sent and not yet answered covers. */
  #pending: number | null = null;
  /** A snapshot is owed whatever the count: after a key change its author could not follow. */
  #owed = false;

  constructor(options: CompactorOptions) {
    this.#o = options;
  }

  /**
   * The seq the last known snapshot covers, or that the last refused one tried to cover. The
   * replica keeps it, so it outlives a reload with the rest of its state.
   */
  get covered(): number {
    return this.#o.replica.snapshotCovered;
  }

  /** A snapshot covering `seq` was taken in from the log. */
  seen(seq: number): void {
    this.#o.replica.noteSnapshot(seq);
  }

  /**
   * A key change this device did not write needs the snapshot its author would have written (a
   * device that left cannot): the next `consider` writes one whatever the count.
   */
  owe(): void {
    this.#owed = true;
  }

  /** The device is synced: writes a snapshot if enough was logged since the last one, or one is owed. */
  consider(): void {
    if (this.#pending !== null) return;
    if (!this.#owed && this.#o.replica.since - this.covered < this.#o.every) return;
    if (this.now() !== null) this.#owed = false;
  }

  /** Writes a snapshot now, unless one waits for its answer; returns the seq it covers or null. */
  now(): number | null {
    if (this.#pending !== null) return null;
    const snapshot = this.#o.replica.snapshot();
    if (!snapshot) return null;
    this.#pending = snapshot.covers.seq;
    this.#o.send(snapshot.covers, snapshot.payload);
    return snapshot.covers.seq;
  }

  /** The server's `snapshotResult`: stored or refused, the next try waits `every` more. */
  answered(coversSeq: number): void {
    if (coversSeq !== this.#pending) return;
    this.#pending = null;
    this.seen(coversSeq);
  }

  /** The socket closed: a snapshot sent on it may never be answered. */
  disconnected(): void {
    this.#pending = null;
  }
}
