import type { SpaceId } from '@mend/protocol';
import type pg from 'pg';
import { bytes, inTransaction, lockSpace, type Query } from './postgresTransaction.js';
import { chainStep, resendVerdict, sameBytes, type StreamHead } from './sealedChain.js';
import {
  SnapshotRefusal,
  type SealedAppendResult,
  type SealedEntry,
  type SealedLoad,
  type SealedLog,
  type SealedSnapshot,
  type SnapshotResult,
} from './SealedLog.js';

/** Schema-qualified, quoted table names (PostgresAdapter builds them once). */
export interface SealedTables {
  spaces: string;
  envelopes: string;
  streams: string;
  snapshots: string;
}

/**
 * The sealed log in PostgreSQL (tables `sealed_envelopes`, `sealed_streams`, `sealed_snapshots`;
 * see postgresMigrations.ts). Every write of a space takes the space's advisory lock first, as
 * PostgresAdapter's appends do, so the chain check and the next seq are decided against every
 * committed write, and seeing seq N means every lower seq of the space is visible.
 */
export class PostgresSealedLog implements Omit<SealedLog, 'deleteSpace'> {
  readonly #pool: pg.Pool;
  readonly #t: SealedTables;
  readonly #lockKey: (spaceId: SpaceId) => string;
  /** Each stream's last append, so the next waits for it (see appendEnvelope). */
  readonly #streamTails = new Map<string, Promise<unknown>>();

  constructor(pool: pg.Pool, tables: SealedTables, lockKey: (spaceId: SpaceId) => string) {
    this.#pool = pool;
    this.#t = tables;
    this.#lockKey = lockKey;
  }

  /**
   * Appends of one stream run one after the other, in the order they were called: a device may
   * send its outbox without waiting for acks, and concurrent transactions would take the space's
   * lock in any order, so counter 3 could be checked before counter 2 and refused.
   */
  appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    const key = `${spaceId}\u0000${entry.stream}`;
    const previous = this.#streamTails.get(key) ?? Promise.resolve();
    const appended = previous.then(() => this.#append(spaceId, entry));
    const tail = appended.catch(() => undefined);
    this.#streamTails.set(key, tail);
    void tail.then(() => {
      if (this.#streamTails.get(key) === tail) this.#streamTails.delete(key);
    });
    return appended;
  }

  #append(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    return inTransaction(this.#pool, (q) => this.appendIn(q, spaceId, entry));
  }

  /** Appends inside the caller's transaction (a conversion's), under the space's lock. */
  async appendIn(q: Query, spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    await lockSpace(q, this.#lockKey(spaceId));
    const state = await q<{
      sealed: boolean;
      author: Buffer | null;
      counter: string | null;
      hash: Buffer | null;
    }>(
      `SELECT s.sealed, h.author, h.counter, h.hash FROM ${this.#t.spaces} s
       LEFT JOIN ${this.#t.streams} h ON h.space_id = s.space_id AND h.stream = $2
       WHERE s.space_id = $1`,
      [spaceId, entry.stream],
    );
    const row = state.rows[0];
    if (!row) throw new Error(`space ${spaceId} does not exist`);
    if (!row.sealed) throw new Error(`space ${spaceId} is not sealed`);
    const head: StreamHead | null =
      row.author && row.hash && row.counter !== null
        ? { author: row.author, counter: Number(row.counter), hash: row.hash }
        : null;
    const step = chainStep(head, entry);
    if (step.kind === 'conflict') return { outcome: 'conflict', reason: step.reason };
    if (step.kind === 'resend' && head) {
      const stored = await q<{ seq: string; hash: Buffer }>(
        `SELECT seq, hash FROM ${this.#t.envelopes}
         WHERE space_id = $1 AND stream = $2 AND counter = $3`,
        [spaceId, entry.stream, entry.counter],
      );
      const at = stored.rows[0];
      return resendVerdict(entry, head, at ? { seq: Number(at.seq), hash: at.hash } : null);
    }
    const seq = (await this.#head(q, spaceId)) + 1;
    await q(
      `WITH stored AS (
         INSERT INTO ${this.#t.envelopes} (space_id, seq, stream, counter, hash, data)
         VALUES ($1, $2, $3, $4, $5, $6))
       INSERT INTO ${this.#t.streams} (space_id, stream, author, counter, hash)
       VALUES ($1, $3, $7, $4, $5)
       ON CONFLICT (space_id, stream)
       DO UPDATE SET counter = EXCLUDED.counter, hash = EXCLUDED.hash`,
      [spaceId, seq, entry.stream, entry.counter, entry.hash, entry.envelope, entry.author],
    );
    return { outcome: 'stored', seq };
  }

  async loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    // One statement, so one consistent view: a compaction committing between two queries could
    // otherwise hand back the old snapshot without the envelopes it replaced.
    const result = await this.#pool.query<{ kind: number; seq: string; data: Buffer | null }>(
      `SELECT 0 AS kind, covers_seq AS seq, data FROM ${this.#t.snapshots}
         WHERE space_id = $1 AND covers_seq > $2
       UNION ALL
       SELECT 1 AS kind, seq, data FROM ${this.#t.envelopes} WHERE space_id = $1 AND seq > $2
       UNION ALL
       SELECT 2 AS kind, ${this.#headExpression('$1')} AS seq, NULL::bytea AS data
       ORDER BY kind, seq`,
      [spaceId, since],
    );
    let snapshot: SealedLoad['snapshot'] = null;
    const envelopes: SealedLoad['envelopes'] = [];
    let head = 0;
    for (const row of result.rows) {
      if (row.kind === 2) head = Number(row.seq);
      else if (row.data === null) continue;
      else if (row.kind === 0) snapshot = { coversSeq: Number(row.seq), envelope: bytes(row.data) };
      else envelopes.push({ seq: Number(row.seq), envelope: bytes(row.data) });
    }
    return { snapshot, envelopes, head };
  }

  replaceWithSealedSnapshot(spaceId: SpaceId, snapshot: SealedSnapshot): Promise<SnapshotResult> {
    return inTransaction(this.#pool, async (q): Promise<SnapshotResult> => {
      await lockSpace(q, this.#lockKey(spaceId));
      const state = await q<{ sealed: boolean; head: string; current: string | null }>(
        `SELECT s.sealed, ${this.#headExpression('$1')} AS head,
           (SELECT covers_seq FROM ${this.#t.snapshots} WHERE space_id = $1) AS current
         FROM ${this.#t.spaces} s WHERE s.space_id = $1`,
        [spaceId],
      );
      const row = state.rows[0];
      if (!row?.sealed) throw new Error(`space ${spaceId} is not a sealed space`);
      if (snapshot.coversSeq > Number(row.head)) {
        return { stored: false, reason: SnapshotRefusal.beyondHead };
      }
      if (snapshot.coversSeq <= Number(row.current ?? 0)) {
        return { stored: false, reason: SnapshotRefusal.stale };
      }
      const covered = await q<{ hash: Buffer }>(
        `SELECT hash FROM ${this.#t.envelopes} WHERE space_id = $1 AND seq = $2`,
        [spaceId, snapshot.coversSeq],
      );
      const hash = covered.rows[0]?.hash;
      if (!hash || !sameBytes(hash, snapshot.coversHash)) {
        return { stored: false, reason: SnapshotRefusal.mismatch };
      }
      await q(
        `INSERT INTO ${this.#t.snapshots} (space_id, covers_seq, data) VALUES ($1, $2, $3)
         ON CONFLICT (space_id) DO UPDATE SET covers_seq = EXCLUDED.covers_seq, data = EXCLUDED.data`,
        [spaceId, snapshot.coversSeq, snapshot.envelope],
      );
      await q(`DELETE FROM ${this.#t.envelopes} WHERE space_id = $1 AND seq <= $2`, [
        spaceId,
        snapshot.coversSeq,
      ]);
      return { stored: true };
    });
  }

  async storedBytes(spaceId: SpaceId): Promise<number> {
    const result = await this.#pool.query<{ bytes: string }>(
      `SELECT
         coalesce((SELECT octet_length(data) FROM ${this.#t.snapshots} WHERE space_id = $1), 0)
       + coalesce((SELECT sum(octet_length(data)) FROM ${this.#t.envelopes} WHERE space_id = $1), 0)
         AS bytes`,
      [spaceId],
    );
    return Number(result.rows[0]?.bytes ?? 0);
  }

  /** Inside PostgresAdapter.deleteSpace's transaction, under the space's lock. */
  async deleteSpace(q: Query, spaceId: SpaceId): Promise<void> {
    for (const table of [this.#t.envelopes, this.#t.streams, this.#t.snapshots]) {
      await q(`DELETE FROM ${table} WHERE space_id = $1`, [spaceId]);
    }
  }

  /** The last envelope's seq, or what the snapshot covers once every envelope was replaced. */
  async #head(q: Query, spaceId: SpaceId): Promise<number> {
    const result = await q<{ head: string }>(`SELECT ${this.#headExpression('$1')} AS head`, [
      spaceId,
    ]);
    return Number(result.rows[0]?.head ?? 0);
  }

  #headExpression(spaceParam: string): string {
    return `coalesce(
      (SELECT max(seq) FROM ${this.#t.envelopes} WHERE space_id = ${spaceParam}),
      (SELECT covers_seq FROM ${this.#t.snapshots} WHERE space_id = ${spaceParam}), 0)`;
  }
}
