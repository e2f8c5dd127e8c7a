import type Database from 'better-sqlite3';
import type { SpaceId } from '@mend/protocol';
import {
  epochBoxPlan,
  type EpochBox,
  type EpochBoxFor,
  type EpochBoxStore,
  type HeldEpochBox,
  type PutEpochBoxesResult,
} from './EpochBoxStore.js';
import { sameBytes } from './sealedChain.js';
import type { SqliteStatements } from './SqliteSealedLog.js';

/**
 * EpochBoxStore in SQLite (table `epoch_boxes`; see sqliteMigrations.ts). A put is one IMMEDIATE
 * transaction: it holds the write lock from its first read, so two processes sharing the file
 * take turns, and a revocation (which deletes the device's boxes in its own transaction) comes
 * wholly before or after it.
 */
export class SqliteEpochBoxes implements EpochBoxStore {
  readonly #db: Database.Database;
  readonly #sql: SqliteStatements;

  constructor(db: Database.Database, sql: SqliteStatements) {
    this.#db = db;
    this.#sql = sql;
  }

  async putEpochBoxes(
    spaceId: SpaceId,
    by: Uint8Array,
    epoch: number,
    boxes: readonly EpochBoxFor[],
  ): Promise<PutEpochBoxesResult> {
    return this.#db
      .transaction((): PutEpochBoxesResult => {
        const current = (
          this.#sql(
            `SELECT d.signing_key FROM devices d JOIN spaces s ON s.space_id = d.space_id
              WHERE d.space_id = ? AND d.revoked_at IS NULL AND s.sealed = 1`,
          ).all(spaceId) as { signing_key: Buffer }[]
        ).map((row) => plain(row.signing_key));
        const isCurrent = (key: Uint8Array) => current.some((c) => sameBytes(c, key));
        if (!isCurrent(by)) return { outcome: 'not-a-device' };
        const held = (
          this.#sql('SELECT signing_key, epoch, writer FROM epoch_boxes WHERE space_id = ?').all(
            spaceId,
          ) as { signing_key: Buffer; epoch: number; writer: Buffer }[]
        ).map((row) => ({
          signingKey: plain(row.signing_key),
          epoch: row.epoch,
          writer: plain(row.writer),
        }));
        const heldBy = (key: Uint8Array): HeldEpochBox[] =>
          held.filter((h) => sameBytes(h.signingKey, key));
        const plan = epochBoxPlan(boxes, epoch, by, isCurrent, heldBy);
        const writer = Buffer.from(by);
        for (const { signingKey, box } of plan.write) {
          const device = Buffer.from(signingKey);
          this.#sql(
            `DELETE FROM epoch_boxes WHERE space_id = ? AND signing_key = ?
               AND (epoch < ? OR (epoch = ? AND writer = ?))`,
          ).run(spaceId, device, epoch, epoch, writer);
          this.#sql(
            `INSERT INTO epoch_boxes (space_id, signing_key, epoch, writer, box)
             VALUES (?, ?, ?, ?, ?)`,
          ).run(spaceId, device, epoch, writer, Buffer.from(box));
        }
        return plan.result;
      })
      .immediate();
  }

  async epochBoxesOf(spaceId: SpaceId, signingKey: Uint8Array): Promise<EpochBox[]> {
    const rows = this.#sql(
      `SELECT epoch, box FROM epoch_boxes WHERE space_id = ? AND signing_key = ?
        ORDER BY epoch, writer`,
    ).all(spaceId, Buffer.from(signingKey)) as { epoch: number; box: Buffer }[];
    return rows.map((row) => ({ epoch: row.epoch, box: plain(row.box) }));
  }

  /** Inside SqliteAdapter.deleteSpace's transaction. */
  deleteSpace(spaceId: SpaceId): void {
    this.#sql('DELETE FROM epoch_boxes WHERE space_id = ?').run(spaceId);
  }
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer);
}
