import { setImmediate as yieldToIo } from 'node:timers/promises';
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
  /** Each space compacts past (1 - jitter) to 1 times the thresholds above; 0 when absent. */
  compactJitter?: number;
  /** Compactions run at the same time; unbounded when absent. */
  compactConcurrency?: number;
}

/** Logged updates applied between two yields to the event loop while compacting. */
const UPDATES_PER_STEP = 64;

interface Growth {
  /** Updates and bytes appended since the last load or compaction. */
  count: number;
  bytes: number;
  /** This space's thresholds, drawn from the policy and its jitter. */
  afterUpdates: number;
  afterBytes: number;
}

export interface DocStoreOptions {
  metrics?: Metrics;
  log?: Logger;
  /** MEND_MAX_SPACE_BYTES (default: no quota). */
  maxSpaceBytes?: number;
  /** Draws the jitter of each space's thresholds (tests inject their own). */
  random?: () => number;
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
  readonly #growth = new Map<SpaceId, Growth>();
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
  readonly #random: () => number;
  /** Compactions holding one of the policy's concurrent slots, and those waiting for one. */
  #compactionsRunning = 0;
  readonly #compactionQueue: (() => void)[] = [];

  constructor(storage: UpdateLog, policy: CompactionPolicy, options: DocStoreOptions = {}) {
    this.#storage = storage;
    this.#policy = policy;
    this.#metrics = options.metrics ?? null;
    this.#log = options.log ?? null;
    this.#maxSpaceBytes = options.maxSpaceBytes ?? Number.POSITIVE_INFINITY;
    this.#random = options.random ?? Math.random;
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
    this.#growth.set(
      spaceId,
      this.#newGrowth(
        stored.updates.length,
        stored.updates.reduce((sum, u) => sum + u.data.byteLength, 0),
      ),
    );
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
    this.#grow(spaceId, update.byteLength);
    return seq;
  }

  /**
   * Merges the stored log into one snapshot. One compaction per space at a time, and no more
   * than the policy's concurrency in the process (the rest queue); resolves when done. Failures
   * are logged and leave the log as it was (nothing is deleted before the snapshot is written,
   * in the same transaction).
   */
  compact(spaceId: SpaceId): Promise<void> {
    const running = this.#compacting.get(spaceId);
    if (running) return running;
    const run = this.#inTurn(() => this.#compact(spaceId))
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

  // --- when compactions run -------------------------------------------------------------

  #newGrowth(count: number, bytes: number): Growth {
    // One draw for both thresholds: a space that compacts early by count also does by bytes.
    const factor = 1 - (this.#policy.compactJitter ?? 0) * this.#random();
    return {
      count,
      bytes,
      afterUpdates: Math.max(1, Math.round(this.#policy.compactAfterUpdates * factor)),
      afterBytes: Math.max(1, Math.round(this.#policy.compactAfterBytes * factor)),
    };
  }

  /** Counts an appended update; past the space's thresholds, queues a compaction. */
  #grow(spaceId: SpaceId, bytes: number): void {
    let growth = this.#growth.get(spaceId);
    if (!growth) this.#growth.set(spaceId, (growth = this.#newGrowth(0, 0)));
    growth.count += 1;
    growth.bytes += bytes;
    if (growth.count >= growth.afterUpdates || growth.bytes >= growth.afterBytes) {
      void this.compact(spaceId);
    }
  }

  /**
   * Runs `work` once one of the policy's concurrent slots is free, and never within the call
   * that asked for it: the append that crossed a threshold relays before compaction starts.
   */
  async #inTurn(work: () => Promise<void>): Promise<void> {
    if (this.#compactionsRunning < (this.#policy.compactConcurrency ?? Infinity)) {
      this.#compactionsRunning += 1;
    } else {
      // The slot is handed over by the compaction that frees it (see below).
      await new Promise<void>((resolve) => this.#compactionQueue.push(resolve));
    }
    try {
      await yieldToIo();
      await work();
    } finally {
      const next = this.#compactionQueue.shift();
      if (next) next();
      else this.#compactionsRunning -= 1;
    }
  }

  // --- what a compaction does -------------------------------------------------------------

  async #compact(spaceId: SpaceId): Promise<void> {
    const stored = await this.#storage.loadDoc(spaceId);
    const last = stored.updates.at(-1);
    if (!last) return;
    const compacted = stored.updates.length;
    const compactedBytes = stored.updates.reduce((sum, u) => sum + u.data.byteLength, 0);
    // Through a Y.Doc rather than Y.mergeUpdates so deleted content is garbage-collected.
    const doc = new Y.Doc();
    let snapshot: Uint8Array;
    try {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      // A few updates at a time, yielding between steps: sockets' messages are handled
      // meanwhile, and no merged copy of the whole log is ever held beside the document.
      for (let i = 0; i < stored.updates.length; i += UPDATES_PER_STEP) {
        await yieldToIo();
        const step = stored.updates.slice(i, i + UPDATES_PER_STEP);
        Y.transact(doc, () => {
          for (const update of step) Y.applyUpdate(doc, update.data);
        });
      }
      await yieldToIo();
      snapshot = Y.encodeStateAsUpdate(doc);
    } finally {
      doc.destroy();
    }
    await yieldToIo();
    await this.#storage.replaceWithSnapshot(spaceId, snapshot, last.seq);
    this.#countCompacted(spaceId, stored, snapshot.byteLength);
    const growth = this.#growth.get(spaceId);
    if (growth) {
      // Appends that raced with us are still in the log; count them roughly as remaining, and
      // draw this space's next thresholds afresh.
      this.#growth.set(
        spaceId,
        this.#newGrowth(
          Math.max(0, growth.count - compacted),
          Math.max(0, growth.bytes - compactedBytes),
        ),
      );
    }
    this.#metrics?.compactions.inc();
    this.#log?.info({ spaceId, updates: compacted, upToSeq: last.seq }, 'compacted the update log');
  }
}
