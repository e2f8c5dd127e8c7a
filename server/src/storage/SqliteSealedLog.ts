import type Database from 'better-sqlite3';
import type { SpaceId } from '@mend/protocol';
import { chainStep, resendVerdict, sameBytes, type StreamHead } from './sealedChain.js';
import {
  SnapshotRefusal,
  type SealedAppendResult,
  type SealedEntry,
  type SealedLoad,
  type SealedSnapshot,
  type SnapshotResult,
} from './SealedLog.js';
import type { SqliteGroupCommit } from './SqliteGroupCommit.js';

/** A prepared statement by its SQL, compiled once (SqliteAdapter's cache). */
export type SqliteStatements = (source: string) => Database.Statement;

/**
 * The sealed log in SQLite (tables `sealed_envelopes`, `sealed_streams`, `sealed_snapshots`;
 * see sqliteMigrations.ts). Appends share SqliteAdapter's group commit; the chain check reads
 * and writes inside it, under the write lock.
 */
export class SqliteSealedLog {
  readonly #db: Database.Database;
  readonly #sql: SqliteStatements;
  readonly #group: SqliteGroupCommit;

  constructor(db: Database.Database, sql: SqliteStatements, group: SqliteGroupCommit) {
    this.#db = db;
    this.#sql = sql;
    this.#group = group;
  }

  appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    return this.#group.run(() => this.appendNow(spaceId, entry));
  }

  async loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    return this.#db.transaction((): SealedLoad => {
      const head = this.#head(spaceId);
      const stored = this.#sql(
        'SELECT covers_seq, data FROM sealed_snapshots WHERE space_id = ?',
      ).get(spaceId) as { covers_seq: number; data: Buffer } | undefined;
      const snapshot =
        stored && since < stored.covers_seq
          ? { coversSeq: stored.covers_seq, envelope: plain(stored.data) }
          : null;
      const rows = this.#sql(
        'SELECT seq, data FROM sealed_envelopes WHERE space_id = ? AND seq > ? ORDER BY seq',
      ).all(spaceId, since) as { seq: number; data: Buffer }[];
      return {
        snapshot,
        envelopes: rows.map((r) => ({ seq: r.seq, envelope: plain(r.data) })),
        head,
      };
    })();
  }

  async replaceWithSealedSnapshot(
    spaceId: SpaceId,
    snapshot: SealedSnapshot,
  ): Promise<SnapshotResult> {
    return this.#db
      .transaction((): SnapshotResult => {
        this.#requireSealed(spaceId);
        if (snapshot.coversSeq > this.#head(spaceId)) {
          return { stored: false, reason: SnapshotRefusal.beyondHead };
        }
        const current = this.#sql('SELECT covers_seq FROM sealed_snapshots WHERE space_id = ?').get(
          spaceId,
        ) as { covers_seq: number } | undefined;
        if (snapshot.coversSeq <= (current?.covers_seq ?? 0)) {
          return { stored: false, reason: SnapshotRefusal.stale };
        }
        const covered = this.#sql(
          'SELECT hash FROM sealed_envelopes WHERE space_id = ? AND seq = ?',
        ).get(spaceId, snapshot.coversSeq) as { hash: Buffer } | undefined;
        if (!covered || !sameBytes(covered.hash, snapshot.coversHash)) {
          return { stored: false, reason: SnapshotRefusal.mismatch };
        }
        this.#sql(
          `INSERT INTO sealed_snapshots (space_id, covers_seq, data) VALUES (?, ?, ?)
           ON CONFLICT (space_id) DO UPDATE SET covers_seq = excluded.covers_seq, data = excluded.data`,
        ).run(spaceId, snapshot.coversSeq, Buffer.from(snapshot.envelope));
        this.#sql('DELETE FROM sealed_envelopes WHERE space_id = ? AND seq <= ?').run(
          spaceId,
          snapshot.coversSeq,
        );
        return { stored: true };
      })
      .immediate();
  }

  /** Bytes of the space's sealed snapshot and envelopes. */
  storedBytes(spaceId: SpaceId): number {
    const row = this.#sql(
      `SELECT COALESCE((SELECT LENGTH(data) FROM sealed_snapshots WHERE space_id = ?), 0)
              + COALESCE((SELECT SUM(LENGTH(data)) FROM sealed_envelopes WHERE space_id = ?), 0)
              AS bytes`,
    ).get(spaceId, spaceId) as { bytes: number };
    return row.bytes;
  }

  /** Inside SqliteAdapter.deleteSpace's transaction. */
  deleteSpace(spaceId: SpaceId): void {
    for (const table of ['sealed_envelopes', 'sealed_streams', 'sealed_snapshots']) {
      this.#sql(`DELETE FROM ${table} WHERE space_id = ?`).run(spaceId);
    }
  }

  /** Appends inside the caller's transaction (a group commit, or a conversion's). */
  appendNow(spaceId: SpaceId, entry: SealedEntry): SealedAppendResult {
    // One read for what the chain check needs: the space, the stream's head, the space's head.
    const found = this.#sql(
      `SELECT s.sealed, t.author, t.counter, t.hash,
              COALESCE((SELECT MAX(seq) FROM sealed_envelopes WHERE space_id = s.space_id),
                       (SELECT covers_seq FROM sealed_snapshots WHERE space_id = s.space_id),
                       0) AS head
       FROM spaces s LEFT JOIN sealed_streams t ON t.space_id = s.space_id AND t.stream = ?
       WHERE s.space_id = ?`,
    ).get(entry.stream, spaceId) as AppendRead | undefined;
    requireSealed(found);
    const head: StreamHead | null =
      found.author === null
        ? null
        : { author: found.author, counter: found.counter, hash: found.hash };
    const step = chainStep(head, entry);
    if (step.kind === 'conflict') return { outcome: 'conflict', reason: step.reason };
    if (step.kind === 'resend' && head) {
      const stored = this.#sql(
        'SELECT seq, hash FROM sealed_envelopes WHERE space_id = ? AND stream = ? AND counter = ?',
      ).get(spaceId, entry.stream, entry.counter) as { seq: number; hash: Buffer } | undefined;
      return resendVerdict(entry, head, stored ?? null);
    }
    const seq = found.head + 1;
    const hash = bufferOf(entry.hash);
    this.#sql(
      `INSERT INTO sealed_envelopes (space_id, seq, stream, counter, hash, data)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(spaceId, seq, entry.stream, entry.counter, hash, bufferOf(entry.envelope));
    this.#sql(
      `INSERT INTO sealed_streams (space_id, stream, author, counter, hash) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (space_id, stream) DO UPDATE SET counter = excluded.counter, hash = excluded.hash`,
    ).run(spaceId, entry.stream, bufferOf(entry.author), entry.counter, hash);
    return { outcome: 'stored', seq };
  }

  /** The last envelope's seq, or what the snapshot covers once every envelope was replaced. */
  #head(spaceId: SpaceId): number {
    const row = this.#sql(
      `SELECT COALESCE((SELECT MAX(seq) FROM sealed_envelopes WHERE space_id = ?),
                       (SELECT covers_seq FROM sealed_snapshots WHERE space_id = ?), 0) AS head`,
    ).get(spaceId, spaceId) as { head: number };
    return row.head;
  }

  #requireSealed(spaceId: SpaceId): void {
    requireSealed(
      this.#sql('SELECT sealed FROM spaces WHERE space_id = ?').get(spaceId) as
        { sealed: number } | undefined,
    );
  }
}

/** What appendNow reads in one statement; the stream's columns are null for a new stream. */
type AppendRead = { sealed: number; head: number } & (
  { author: Buffer; counter: number; hash: Buffer } | { author: null; counter: null; hash: null }
);

function requireSealed<T extends { sealed: number }>(space: T | undefined): asserts space is T {
  if (!space) throw new Error('no such space');
  if (space.sealed !== 1) throw new Error('the space is not sealed');
}

/** A Buffer over the same bytes (better-sqlite3 binds Buffers), not a copy. */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(
    buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
  );
}
