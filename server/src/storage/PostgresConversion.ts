import type { SpaceId } from '@mend/protocol';
import type pg from 'pg';
import type { Logger } from 'pino';
import { bytes, inTransaction, lockSpace } from './postgresTransaction.js';
import type { PostgresSealedLog } from './PostgresSealedLog.js';
import { SealRefusal, sealSeats, type PlaintextSeal, type SealResult } from './StorageAdapter.js';

/** Schema-qualified, quoted table names (PostgresAdapter builds them once). */
export interface ConversionTables {
  spaces: string;
  partners: string;
  docChecks: string;
  updates: string;
  snapshots: string;
  devices: string;
}

/**
 * Converting a plaintext space in PostgreSQL (SpaceDirectory.sealPlaintextSpace): one
 * transaction under the space's advisory lock and its row lock, so no plaintext append,
 * compaction, join or revocation of the space commits in between, then a VACUUM of the
 * plaintext tables in the background (docs/security.md says what that does and does not erase).
 */
export class PostgresConversion {
  readonly #pool: pg.Pool;
  readonly #t: ConversionTables;
  readonly #lockKey: (spaceId: SpaceId) => string;
  readonly #sealedLog: PostgresSealedLog;
  readonly #log: Pick<Logger, 'error'> | undefined;
  /** The VACUUM running now, and whether another conversion committed since it started. */
  #vacuum: Promise<void> | null = null;
  #vacuumAgain = false;

  constructor(deps: {
    pool: pg.Pool;
    tables: ConversionTables;
    lockKey: (spaceId: SpaceId) => string;
    sealedLog: PostgresSealedLog;
    log?: Pick<Logger, 'error'>;
  }) {
    this.#pool = deps.pool;
    this.#t = deps.tables;
    this.#lockKey = deps.lockKey;
    this.#sealedLog = deps.sealedLog;
    this.#log = deps.log;
  }

  async seal(spaceId: SpaceId, seal: PlaintextSeal, at: number): Promise<SealResult> {
    const t = this.#t;
    const result = await inTransaction(this.#pool, async (q): Promise<SealResult> => {
      // The advisory lock first, as appends and compactions take it: they wait for the commit
      // and then find the space sealed.
      await lockSpace(q, this.#lockKey(spaceId));
      const space = await q<{ sealed: boolean; invite_used_at: string | null }>(
        `SELECT sealed, invite_used_at FROM ${t.spaces} WHERE space_id = $1 FOR UPDATE`,
        [spaceId],
      );
      const row = space.rows[0];
      if (!row) return { sealed: false, reason: SealRefusal.noSpace };
      if (row.sealed) return { sealed: false, reason: SealRefusal.sealedAlready };
      // Locked, so a revocation waits and then finds no partner row (the leave re-checks).
      const partners = await q<{ partner_id: string; token_hash: Buffer }>(
        `SELECT partner_id, token_hash FROM ${t.partners}
          WHERE space_id = $1 AND revoked_at IS NULL FOR UPDATE`,
        [spaceId],
      );
      const seats = sealSeats(
        partners.rows.map((p) => ({ partnerId: p.partner_id, tokenHash: bytes(p.token_hash) })),
        row.invite_used_at !== null,
        seal,
        at,
      );
      if ('refused' in seats) return { sealed: false, reason: seats.refused };
      await q(
        `UPDATE ${t.spaces} SET sealed = true, name = NULL,
           invite_hash = coalesce($2, invite_hash),
           invite_used_at = CASE WHEN $2::bytea IS NULL THEN coalesce(invite_used_at, $3) END,
           welcome = $4, welcome_taken_at = NULL
         WHERE space_id = $1`,
        [spaceId, seal.invite?.inviteHash ?? null, at, seal.invite?.welcome ?? null],
      );
      await q(`DELETE FROM ${t.updates} WHERE space_id = $1`, [spaceId]);
      await q(`DELETE FROM ${t.snapshots} WHERE space_id = $1`, [spaceId]);
      await q(
        `DELETE FROM ${t.docChecks}
          WHERE partner_id IN (SELECT partner_id FROM ${t.partners} WHERE space_id = $1)`,
        [spaceId],
      );
      await q(`DELETE FROM ${t.partners} WHERE space_id = $1`, [spaceId]);
      for (const device of seats.devices) {
        await q(
          `INSERT INTO ${t.devices}
             (space_id, partner_id, signing_key, agreement_key, token_hash, added_at, key_box)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [
            spaceId,
            device.partnerId,
            device.signingKey,
            device.agreementKey,
            device.tokenHash,
            device.addedAt,
            device.keyBox,
          ],
        );
      }
      for (const envelope of seal.envelopes) {
        const appended = await this.#sealedLog.appendIn(q, spaceId, envelope);
        if (appended.outcome !== 'stored') {
          throw new Error(`a conversion envelope was not stored: ${JSON.stringify(appended)}`);
        }
      }
      return { sealed: true };
    });
    if (result.sealed) this.#vacuumSoon();
    return result;
  }

  /** Resolves once no VACUUM started by a conversion is running (before closing the pool). */
  async idle(): Promise<void> {
    while (this.#vacuum) await this.#vacuum;
  }

  /**
   * VACUUM cannot run inside a transaction, takes a while on a large table, and two on one table
   * wait for each other: so it runs after the commit, not awaited by the conversion, one at a
   * time, once more if conversions committed while it ran.
   */
  #vacuumSoon(): void {
    if (this.#vacuum) {
      this.#vacuumAgain = true;
      return;
    }
    const t = this.#t;
    this.#vacuum = this.#pool
      .query(`VACUUM ${t.updates}, ${t.snapshots}, ${t.docChecks}, ${t.partners}, ${t.spaces}`)
      .then(
        () => undefined,
        (error: unknown) => {
          this.#log?.error({ err: error }, 'could not vacuum after converting a space');
        },
      )
      .finally(() => {
        this.#vacuum = null;
        if (this.#vacuumAgain) {
          this.#vacuumAgain = false;
          this.#vacuumSoon();
        }
      });
  }
}
