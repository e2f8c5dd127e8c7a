import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { StoredDoc, UpdateLog } from './StorageAdapter.js';

/** A Yjs update with no structs and an empty delete set. */
const EMPTY_UPDATE = new Uint8Array([0, 0]);

/** Whether `update` is the empty update (what a fresh device sends as its sync step 2). */
export function isEmptyUpdate(update: Uint8Array): boolean {
  return update.length === 2 && update[0] === 0 && update[1] === 0;
}

export interface CompactionPolicy {
  compactAfterUpdates: number;
  compactAfterBytes: number;
}

/**
 * The document log above a storage adapter: loads a space as one merged update, appends, and
 * compacts the log into a snapshot when it grows past the policy's thresholds. Compaction
 * reads from storage, not from a room's memory, so it is correct even when several processes
 * write the same space; replaceWithSnapshot keeps every update appended while it ran.
 */
export class DocStore {
  readonly #storage: UpdateLog;
  readonly #policy: CompactionPolicy;
  readonly #metrics: Metrics | null;
  readonly #log: Logger | null;
  /** Updates and bytes appended since the last load or compaction, per space. */
  readonly #growth = new Map<SpaceId, { count: number; bytes: number }>();
  readonly #compacting = new Map<SpaceId, Promise<void>>();
  /** MEND_MAX_SPACE_BYTES: the quota `hasRoomFor` checks against. */
  readonly #maxSpaceBytes: number;
  /**
   * Bytes stored per loaded space (snapshot + updates), kept from load, append and compaction
   * so the quota costs no query per edit. Appends count from the moment they start, so updates
   * racing to storage cannot all pass the check together. With several server processes each
   * counts what it loaded and wrote itself (refreshed on every load).
   */
  readonly #stored = new Map<SpaceId, number>();

  constructor(
    storage: UpdateLog,
    policy: CompactionPolicy,
    metrics: Metrics | null = null,
    log: Logger | null = null,
    maxSpaceBytes = Number.POSITIVE_INFINITY,
  ) {
    this.#storage = storage;
    this.#policy = policy;
    this.#metrics = metrics;
    this.#log = log;
    this.#maxSpaceBytes = maxSpaceBytes;
  }

  /** Whether `bytes` more would keep the space within its stored-bytes quota. */
  hasRoomFor(spaceId: SpaceId, bytes: number): boolean {
    return this.storedBytes(spaceId) + bytes <= this.#maxSpaceBytes;
  }

  /** The space's stored bytes as counted since it was loaded (0 if it is not loaded). */
  storedBytes(spaceId: SpaceId): number {
    return this.#stored.get(spaceId) ?? 0;
  }

  #countStored(spaceId: SpaceId, delta: number): void {
    this.#stored.set(spaceId, Math.max(0, this.storedBytes(spaceId) + delta));
  }

  /** The space's whole stored document as one update (empty document: a valid empty update). */
  async load(spaceId: SpaceId): Promise<Uint8Array> {
    const stored = await this.#storage.loadDoc(spaceId);
    const parts = stored.snapshot ? [stored.snapshot] : [];
    for (const update of stored.updates) parts.push(update.data);
    this.#growth.set(spaceId, {
      count: stored.updates.length,
      bytes: stored.updates.reduce((sum, u) => sum + u.data.byteLength, 0),
    });
    this.#stored.set(
      spaceId,
      parts.reduce((sum, part) => sum + part.byteLength, 0),
    );
    if (parts.length === 0) return EMPTY_UPDATE;
    if (parts.length === 1 && parts[0]) return parts[0];
    return Y.mergeUpdates(parts);
  }

  /** Appends durably; may start a compaction in the background (never awaited by the caller). */
  async append(spaceId: SpaceId, update: Uint8Array): Promise<number> {
    const started = performance.now();
    this.#countStored(spaceId, update.byteLength);
    const seq = await this.#storage.appendUpdate(spaceId, update).catch((error: unknown) => {
      this.#countStored(spaceId, -update.byteLength);
      throw error;
    });
    this.#metrics?.persistSeconds.observe((performance.now() - started) / 1000);
    this.#metrics?.storedBytes.inc(update.byteLength);
    const growth = this.#growth.get(spaceId) ?? { count: 0, bytes: 0 };
    growth.count += 1;
    growth.bytes += update.byteLength;
    this.#growth.set(spaceId, growth);
    if (
      growth.count >= this.#policy.compactAfterUpdates ||
      growth.bytes >= this.#policy.compactAfterBytes
    ) {
      void this.compact(spaceId);
    }
    return seq;
  }

  /**
   * Merges the stored log into one snapshot. One compaction per space at a time; resolves when
   * done. Failures are logged and leave the log as it was (nothing is deleted before the
   * snapshot is written, in the same transaction).
   */
  compact(spaceId: SpaceId): Promise<void> {
    const running = this.#compacting.get(spaceId);
    if (running) return running;
    const run = this.#compact(spaceId)
      .catch((error: unknown) => {
        this.#log?.error({ err: error, spaceId }, 'compaction failed; the log is kept as it was');
      })
      .finally(() => this.#compacting.delete(spaceId));
    this.#compacting.set(spaceId, run);
    return run;
  }

  /** Stops tracking a space's growth (its room unloaded). */
  forget(spaceId: SpaceId): void {
    this.#growth.delete(spaceId);
    this.#stored.delete(spaceId);
  }

  /** Resolves once every running compaction has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.#compacting.values()]);
  }

  /** The snapshot and the updates it merged are replaced by the new snapshot. */
  #countCompacted(spaceId: SpaceId, merged: StoredDoc, snapshotBytes: number): void {
    if (!this.#stored.has(spaceId)) return;
    let replaced = merged.snapshot?.byteLength ?? 0;
    for (const update of merged.updates) replaced += update.data.byteLength;
    this.#countStored(spaceId, snapshotBytes - replaced);
  }

  async #compact(spaceId: SpaceId): Promise<void> {
    const stored = await this.#storage.loadDoc(spaceId);
    const last = stored.updates.at(-1);
    if (!last) return;
    // Through a Y.Doc rather than Y.mergeUpdates so deleted content is garbage-collected.
    const doc = new Y.Doc();
    try {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      Y.applyUpdate(doc, Y.mergeUpdates(stored.updates.map((u) => u.data)));
      const snapshot = Y.encodeStateAsUpdate(doc);
      await this.#storage.replaceWithSnapshot(spaceId, snapshot, last.seq);
      this.#countCompacted(spaceId, stored, snapshot.byteLength);
    } finally {
      doc.destroy();
    }
    const growth = this.#growth.get(spaceId);
    if (growth) {
      // Appends that raced with us are still in the log; count them roughly as remaining.
      growth.count = Math.max(0, growth.count - stored.updates.length);
      growth.bytes = Math.max(
        0,
        growth.bytes - stored.updates.reduce((sum, u) => sum + u.data.byteLength, 0),
      );
    }
    this.#metrics?.compactions.inc();
    this.#log?.info(
      { spaceId, updates: stored.updates.length, upToSeq: last.seq },
      'compacted the update log',
    );
  }
}
