import type { SpaceId, StoredEnvelope } from '@mend/protocol';

/**
 * A sealed space's log (docs/protocol.md): envelopes the server cannot read, numbered per space
 * (`seq` 1, 2, 3, …), each stream's chain head, and at most one client-written snapshot that
 * replaced a prefix of the log. The byte-moving half of sealed storage; what the room decides
 * lives above it. Every adapter passes the same contract suite (`sealedLogContract.testkit.ts`).
 *
 * Two server processes may write one space at once, so each method is one transaction, and the
 * chain check of `append` runs inside it: only the adapter can compare against the committed
 * head atomically. The rules themselves are written once, in `sealedChain.ts`.
 */
export interface SealedLog {
  /**
   * Appends an update or member envelope if it continues its stream's chain as stored, giving it
   * the space's next seq. A resend of a stored envelope (same stream, counter and hash) is a
   * duplicate and stores nothing. Rejects when the space does not exist or is not sealed, so a
   * deletion is never undone by a late write.
   */
  appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult>;
  /**
   * Everything a device that holds the log up to `since` lacks, read in one consistent view: the
   * snapshot if `since` is below what it covers, and every envelope after `since` (after the
   * snapshot, when it is returned), in seq order. A `since` at or past the head loads only the
   * head. Unknown space: empty, head 0.
   */
  loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad>;
  /**
   * In one transaction: stores `snapshot` and deletes every envelope it covers, only if
   * `coversSeq` is at or below the head, above the stored snapshot's, and the envelope stored at
   * `coversSeq` has hash `coversHash`. Stream heads are kept.
   */
  replaceWithSealedSnapshot(spaceId: SpaceId, snapshot: SealedSnapshot): Promise<SnapshotResult>;
  /** Bytes stored for the space: the snapshot plus every envelope (the quota counts these). */
  storedBytes(spaceId: SpaceId): Promise<number>;
  /** Deletes the space and everything in it (see UpdateLog.deleteSpace). Unknown: no-op. */
  deleteSpace(spaceId: SpaceId): Promise<void>;
}

/** An envelope to append, with the header fields the chain check reads (already decoded). */
export interface SealedEntry {
  /** The author device's signing key (32 bytes). */
  readonly author: Uint8Array;
  readonly stream: number;
  readonly counter: number;
  /** The hash of the stream's previous envelope (zeros at counter 1). */
  readonly prev: Uint8Array;
  /** SHA-256 of `envelope`. */
  readonly hash: Uint8Array;
  readonly envelope: Uint8Array;
}

/** Why an envelope does not continue its stream's chain (close code 4409). */
export const ChainConflict = {
  /** A stream's first envelope with a counter above 1, or a counter beyond head + 1. */
  skipsAhead: 'skips-ahead',
  /** The next counter, but `prev` is not the stored head's hash. */
  fork: 'fork',
  /** Another envelope is stored at this counter. */
  counterTaken: 'counter-taken',
  /** The stream belongs to another device. */
  streamClaimed: 'stream-claimed',
} as const;
export type ChainConflict = (typeof ChainConflict)[keyof typeof ChainConflict];

export type SealedAppendResult =
  | { readonly outcome: 'stored'; readonly seq: number }
  /** `seq` 0: the envelope was stored once and a snapshot has replaced it since. */
  | { readonly outcome: 'duplicate'; readonly seq: number }
  | { readonly outcome: 'conflict'; readonly reason: ChainConflict };

export interface SealedLoad {
  /** The stored snapshot, when `since` is below what it covers; sent with `seq = coversSeq`. */
  readonly snapshot: { readonly coversSeq: number; readonly envelope: Uint8Array } | null;
  readonly envelopes: StoredEnvelope[];
  /** The space's highest seq (the snapshot's coversSeq when every envelope was replaced). */
  readonly head: number;
}

export interface SealedSnapshot {
  readonly coversSeq: number;
  readonly coversHash: Uint8Array;
  readonly envelope: Uint8Array;
}

/** Why a snapshot was not stored (the `reason` of `snapshotResult`). */
export const SnapshotRefusal = {
  /** It covers a seq the log does not have yet. */
  beyondHead: 'beyond-head',
  /** The stored snapshot already covers as much or more. */
  stale: 'stale',
  /** The envelope stored at `coversSeq` has another hash. */
  mismatch: 'mismatch',
} as const;
export type SnapshotRefusal = (typeof SnapshotRefusal)[keyof typeof SnapshotRefusal];

export type SnapshotResult =
  { readonly stored: true } | { readonly stored: false; readonly reason: SnapshotRefusal };
