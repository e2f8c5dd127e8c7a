import type { Receipt } from './setAside.js';

/** Why a statement was not stored: set aside by the replica, answered without a seq, or closed. */
export type NotStored = 'set-aside' | 'no-seq' | 'closed';

export interface KeysWaiter {
  resolve(seq: number): void;
  reject(reason: NotStored, detail?: string): void;
}

/**
 * The keys statements a provider sealed for `submitKeys`, each waited for until the replica has
 * taken it in: by `stream:counter` until the server acknowledges it, then by the seq it was
 * stored at until the replica's receipt for that seq (or a snapshot covering it) comes.
 */
export class KeysWaiters {
  readonly #sent = new Map<string, KeysWaiter>();
  readonly #stored = new Map<number, KeysWaiter>();

  /** A statement sealed at `stream:counter`: resolves with its seq once the replica holds it. */
  wait(at: { stream: number; counter: number }, waiter: KeysWaiter): void {
    this.#sent.set(`${at.stream}:${at.counter}`, waiter);
  }

  /** The server's acknowledgement: stored at `seq`, or (seq 0) earlier and compacted away since. */
  acked(stream: number, counter: number, seq: number): void {
    const key = `${stream}:${counter}`;
    const waiter = this.#sent.get(key);
    if (!waiter) return;
    this.#sent.delete(key);
    if (seq > 0) this.#stored.set(seq, waiter);
    else waiter.reject('no-seq');
  }

  /** The replica's receipt for `seq`. */
  taken(receipt: Receipt, seq: number): void {
    const waiter = this.#stored.get(seq);
    if (!waiter) return;
    this.#stored.delete(seq);
    if (receipt.kind !== 'set-aside') waiter.resolve(seq);
    else waiter.reject('set-aside', receipt.entry.detail);
  }

  /** A snapshot taken in may cover a statement before its own receipt came: it is in the log. */
  covered(since: number): void {
    for (const [seq, waiter] of this.#stored) {
      if (seq > since) continue;
      this.#stored.delete(seq);
      waiter.resolve(seq);
    }
  }

  /** The provider is closed: nothing still waited for will be stored through it. */
  close(): void {
    for (const waiter of [...this.#sent.values(), ...this.#stored.values()]) {
      waiter.reject('closed');
    }
    this.#sent.clear();
    this.#stored.clear();
  }
}
