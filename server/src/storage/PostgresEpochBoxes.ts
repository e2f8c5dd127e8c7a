import type { SpaceId } from '@mend/protocol';
import type pg from 'pg';
import {
  epochBoxPlan,
  type EpochBox,
  type EpochBoxFor,
  type EpochBoxStore,
  type HeldEpochBox,
  type PutEpochBoxesResult,
} from './EpochBoxStore.js';
import { bytes, inTransaction, lockSpace } from './postgresTransaction.js';
import { sameBytes } from './sealedChain.js';

/** Schema-qualified, quoted table names (PostgresAdapter builds them once). */
export interface EpochBoxTables {
  spaces: string;
  devices: string;
  epochBoxes: string;
}

/**
 * EpochBoxStore in PostgreSQL (table `epoch_boxes`; see postgresMigrations.ts). A put takes the
 * space's devices lock (the one removals and kits take), so two nodes' puts, removals and kits
 * of one space take turns and each reads what the one before committed; and it reads the space's
 * current devices FOR SHARE, so a device leaving (revokeDevice, which updates its row and then
 * deletes its boxes) waits for the put to commit, or the put waits and no longer finds the device.
 */
export class PostgresEpochBoxes implements EpochBoxStore {
  readonly #pool: pg.Pool;
  readonly #t: EpochBoxTables;
  readonly #lockKey: (spaceId: SpaceId) => string;

  constructor(pool: pg.Pool, tables: EpochBoxTables, lockKey: (spaceId: SpaceId) => string) {
    this.#pool = pool;
    this.#t = tables;
    this.#lockKey = lockKey;
  }

  putEpochBoxes(
    spaceId: SpaceId,
    by: Uint8Array,
    epoch: number,
    boxes: readonly EpochBoxFor[],
  ): Promise<PutEpochBoxesResult> {
    return inTransaction(this.#pool, async (q): Promise<PutEpochBoxesResult> => {
      await lockSpace(q, this.#lockKey(spaceId));
      const devices = await q<{ signing_key: Buffer }>(
        `SELECT d.signing_key FROM ${this.#t.devices} d
           JOIN ${this.#t.spaces} s ON s.space_id = d.space_id
          WHERE d.space_id = $1 AND d.revoked_at IS NULL AND s.sealed
          FOR SHARE OF d`,
        [spaceId],
      );
      const current = devices.rows.map((row) => bytes(row.signing_key));
      const isCurrent = (key: Uint8Array) => current.some((c) => sameBytes(c, key));
      if (!isCurrent(by)) return { outcome: 'not-a-device' };
      const held = await q<{ signing_key: Buffer; epoch: string; writer: Buffer }>(
        `SELECT signing_key, epoch, writer FROM ${this.#t.epochBoxes} WHERE space_id = $1`,
        [spaceId],
      );
      const heldBoxes = held.rows.map((row) => ({
        signingKey: bytes(row.signing_key),
        epoch: Number(row.epoch),
        writer: bytes(row.writer),
      }));
      const heldBy = (key: Uint8Array): HeldEpochBox[] =>
        heldBoxes.filter((h) => sameBytes(h.signingKey, key));
      const plan = epochBoxPlan(boxes, epoch, by, isCurrent, heldBy);
      for (const { signingKey, box } of plan.write) {
        await q(
          `DELETE FROM ${this.#t.epochBoxes} WHERE space_id = $1 AND signing_key = $2
             AND (epoch < $3 OR (epoch = $3 AND writer = $4))`,
          [spaceId, signingKey, epoch, by],
        );
        await q(
          `INSERT INTO ${this.#t.epochBoxes} (space_id, signing_key, epoch, writer, box)
           VALUES ($1, $2, $3, $4, $5)`,
          [spaceId, signingKey, epoch, by, box],
        );
      }
      return plan.result;
    });
  }

  async epochBoxesOf(spaceId: SpaceId, signingKey: Uint8Array): Promise<EpochBox[]> {
    const result = await this.#pool.query<{ epoch: string; box: Buffer }>(
      `SELECT epoch, box FROM ${this.#t.epochBoxes} WHERE space_id = $1 AND signing_key = $2
        ORDER BY epoch, writer`,
      [spaceId, signingKey],
    );
    return result.rows.map((row) => ({ epoch: Number(row.epoch), box: bytes(row.box) }));
  }
}
