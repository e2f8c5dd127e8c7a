import { ChainConflict, type SealedAppendResult, type SealedEntry } from './SealedLog.js';

/**
 * The chain rules of docs/protocol.md ("Streams and chains"), written once for every adapter.
 * An adapter reads the stream's head inside its transaction, asks `chainStep`, and for a counter
 * it already holds reads the envelope stored there and asks `resendVerdict`.
 */

/** What the log holds about a stream: who claimed it, and its last envelope. */
export interface StreamHead {
  readonly author: Uint8Array;
  readonly counter: number;
  readonly hash: Uint8Array;
}

/** The seq and hash of the envelope stored at a counter. */
export interface StoredAt {
  readonly seq: number;
  readonly hash: Uint8Array;
}

export type ChainStep =
  | { readonly kind: 'append' }
  | { readonly kind: 'conflict'; readonly reason: ChainConflict }
  /** A counter the stream already reached: compare with what is stored (resendVerdict). */
  | { readonly kind: 'resend' };

export function chainStep(head: StreamHead | null, entry: SealedEntry): ChainStep {
  if (head === null) {
    return entry.counter === 1
      ? { kind: 'append' }
      : { kind: 'conflict', reason: ChainConflict.skipsAhead };
  }
  if (!sameBytes(head.author, entry.author)) {
    return { kind: 'conflict', reason: ChainConflict.streamClaimed };
  }
  if (entry.counter === head.counter + 1) {
    return sameBytes(entry.prev, head.hash)
      ? { kind: 'append' }
      : { kind: 'conflict', reason: ChainConflict.fork };
  }
  if (entry.counter > head.counter + 1) {
    return { kind: 'conflict', reason: ChainConflict.skipsAhead };
  }
  return { kind: 'resend' };
}

/**
 * A counter at or below the stream's head: the same envelope again is a duplicate (idempotent
 * resend), another one a conflict. `stored` is null when a snapshot replaced that envelope: the
 * head's hash is kept and still compared; an older one can no longer be, and is acknowledged
 * with seq 0 (refusing it would close an honest device replaying its outbox right after a
 * compaction, and nothing of it is stored or relayed, so a device that forks its own past only
 * misleads itself).
 */
export function resendVerdict(
  entry: SealedEntry,
  head: StreamHead,
  stored: StoredAt | null,
): SealedAppendResult {
  if (stored !== null) {
    return sameBytes(stored.hash, entry.hash)
      ? { outcome: 'duplicate', seq: stored.seq }
      : { outcome: 'conflict', reason: ChainConflict.counterTaken };
  }
  if (entry.counter === head.counter && !sameBytes(head.hash, entry.hash)) {
    return { outcome: 'conflict', reason: ChainConflict.counterTaken };
  }
  return { outcome: 'duplicate', seq: 0 };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
