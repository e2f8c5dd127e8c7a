import type { SpaceId } from '@mend/protocol';
import * as Y from 'yjs';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { UpdateLog } from './StorageAdapter.js';

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

  constructor(
    storage: UpdateLog,
    policy: CompactionPolicy,
    metrics: Metrics | null = null,
    log: Logger | null = null,
  ) {
    this.#storage = storage;
    this.#policy = policy;
    this.#metrics = metrics;
    this.#log = log;
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
    if (parts.length === 0) return EMPTY_UPDATE;
    if (parts.length === 1 && parts[0]) return parts[0];
    return Y.mergeUpdates(parts);
  }

  /** Appends durably; may start a compaction in the background (never awaited by the caller). */
  async append(spaceId: SpaceId, update: Uint8Array): Promise<number> {
    const started = performance.now();
    const seq = await this.#storage.appendUpdate(spaceId, update);
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
  }

  /** Resolves once every running compaction has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.#compacting.values()]);
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
