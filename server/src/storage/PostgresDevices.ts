import type { PartnerId, SpaceId } from '@mend/protocol';
import type pg from 'pg';
import {
  KitOutcome,
  kitStep,
  limitedUntil,
  recoveryStep,
  removeStep,
  type DeviceDetails,
  type DeviceStore,
  type KitResult,
  type RecoveryAttempt,
  type RecoveryKit,
  type RecoveryLimit,
  type RecoveryResult,
  type RemoveOutcome,
  type StoredDevice,
} from './DeviceStore.js';
import { bytes, inTransaction, lockSpace, type Query } from './postgresTransaction.js';
import { sameBytes } from './sealedChain.js';

/** Schema-qualified, quoted table names (PostgresAdapter builds them once). */
export interface DeviceTables {
  spaces: string;
  devices: string;
  challenges: string;
  failures: string;
  epochBoxes: string;
}

const COLUMNS = `partner_id, signing_key, agreement_key, added_at, revoked_at, last_seen_at,
  recovery, recovery_box, recovery_link_seq`;

/**
 * DeviceStore in PostgreSQL (columns of `devices`, tables `recovery_challenges` and
 * `recovery_failures`, and a revoked device's `epoch_boxes`; see postgresMigrations.ts). Every write that decides takes the space's
 * devices lock (a transaction-scoped advisory lock of its own), so two nodes' removals, kits and
 * recoveries of one space take turns and each reads what the one before committed. Device rows
 * are written with UPDATE, which waits for a link confirmation holding them FOR SHARE.
 */
export class PostgresDevices implements DeviceStore {
  readonly #pool: pg.Pool;
  readonly #t: DeviceTables;
  readonly #lockKey: (spaceId: SpaceId) => string;

  constructor(pool: pg.Pool, tables: DeviceTables, lockKey: (spaceId: SpaceId) => string) {
    this.#pool = pool;
    this.#t = tables;
    this.#lockKey = lockKey;
  }

  async listDeviceDetails(spaceId: SpaceId): Promise<DeviceDetails[]> {
    const rows = await this.#rows((text, values) => this.#pool.query(text, values), spaceId);
    return rows.map((row) => ({
      partnerId: row.partner_id as PartnerId,
      signingKey: bytes(row.signing_key),
      addedAt: Number(row.added_at),
      lastSeenAt: optionalNumber(row.last_seen_at),
      removedAt: optionalNumber(row.revoked_at),
      recovery: row.recovery,
    }));
  }

  async markSeen(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<void> {
    await this.#pool.query(
      `UPDATE ${this.#t.devices} SET last_seen_at = $3 WHERE space_id = $1 AND signing_key = $2`,
      [spaceId, signingKey, at],
    );
  }

  removeDevice(
    spaceId: SpaceId,
    signingKey: Uint8Array,
    by: Uint8Array,
    at: number,
  ): Promise<RemoveOutcome> {
    return this.#locked(spaceId, async (q) => {
      const step = removeStep(await this.#sealedDevices(q, spaceId), signingKey, by);
      if (step.revoke) await this.#revoke(q, spaceId, signingKey, by, at);
      return step.outcome;
    });
  }

  putRecoveryKit(
    spaceId: SpaceId,
    by: Uint8Array,
    kit: RecoveryKit,
    at: number,
  ): Promise<KitResult> {
    return this.#locked(spaceId, async (q) => {
      const step = kitStep(await this.#sealedDevices(q, spaceId), by, kit);
      if (!step.store) return step.result;
      for (const replaced of step.store.replaced) await this.#revoke(q, spaceId, replaced, by, at);
      await q(
        `INSERT INTO ${this.#t.devices} (space_id, partner_id, signing_key, agreement_key,
           token_hash, added_at, recovery, recovery_box, recovery_link_seq)
         VALUES ($1, $2, $3, $4, $5, $6, true, $7, $8)`,
        [
          spaceId,
          step.store.partnerId,
          kit.signingKey,
          kit.agreementKey,
          kit.tokenHash,
          at,
          kit.box,
          kit.linkSeq,
        ],
      );
      return { outcome: KitOutcome.stored, replaced: step.store.replaced };
    });
  }

  issueChallenge(
    spaceId: SpaceId,
    challengeHash: Uint8Array,
    at: number,
    expiresAt: number,
  ): Promise<boolean> {
    return inTransaction(this.#pool, async (q) => {
      if (!(await this.#isSealed(q, spaceId))) return false;
      await q(`DELETE FROM ${this.#t.challenges} WHERE space_id = $1 AND expires_at <= $2`, [
        spaceId,
        at,
      ]);
      await q(
        `INSERT INTO ${this.#t.challenges} (space_id, challenge_hash, expires_at)
         VALUES ($1, $2, $3)`,
        [spaceId, challengeHash, expiresAt],
      );
      return true;
    });
  }

  recover(
    spaceId: SpaceId,
    attempt: RecoveryAttempt,
    at: number,
    limit: RecoveryLimit,
  ): Promise<RecoveryResult> {
    return this.#locked(spaceId, async (q): Promise<RecoveryResult> => {
      if (!(await this.#isSealed(q, spaceId))) return { outcome: 'refused' };
      await q(`DELETE FROM ${this.#t.failures} WHERE space_id = $1 AND at <= $2`, [
        spaceId,
        at - limit.windowMs,
      ]);
      const failures = await q<{ at: string }>(
        `SELECT at FROM ${this.#t.failures} WHERE space_id = $1`,
        [spaceId],
      );
      const retryAt = limitedUntil(
        failures.rows.map((row) => Number(row.at)),
        at,
        limit,
      );
      if (retryAt !== null) return { outcome: 'limited', retryAt };
      const used = await q<{ challenge_hash: Buffer; expires_at: string }>(
        `DELETE FROM ${this.#t.challenges}
          WHERE space_id = $1 AND (challenge_hash = $2 OR expires_at <= $3)
          RETURNING challenge_hash, expires_at`,
        [spaceId, attempt.challengeHash, at],
      );
      const live = used.rows.some(
        (row) =>
          Number(row.expires_at) > at &&
          sameBytes(bytes(row.challenge_hash), attempt.challengeHash),
      );
      const device = await q<DeviceRow>(
        `SELECT ${COLUMNS} FROM ${this.#t.devices} WHERE space_id = $1 AND signing_key = $2`,
        [spaceId, attempt.signingKey],
      );
      const row = device.rows[0];
      const recovered = recoveryStep(row ? toStored(row) : null, attempt, live);
      if (!recovered) {
        await q(`INSERT INTO ${this.#t.failures} (space_id, at) VALUES ($1, $2)`, [spaceId, at]);
        return { outcome: 'refused' };
      }
      await q(
        `UPDATE ${this.#t.devices} SET token_hash = $3 WHERE space_id = $1 AND signing_key = $2`,
        [spaceId, attempt.signingKey, attempt.tokenHash],
      );
      return { outcome: 'recovered', ...recovered };
    });
  }

  #locked<T>(spaceId: SpaceId, work: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, async (q) => {
      await lockSpace(q, this.#lockKey(spaceId));
      return work(q);
    });
  }

  async #revoke(
    q: Query,
    spaceId: SpaceId,
    signingKey: Uint8Array,
    by: Uint8Array,
    at: number,
  ): Promise<void> {
    await q(
      `UPDATE ${this.#t.devices} SET revoked_at = $3, revoked_by = $4, recovery_box = NULL
        WHERE space_id = $1 AND signing_key = $2 AND revoked_at IS NULL`,
      [spaceId, signingKey, at, by],
    );
    await q(`DELETE FROM ${this.#t.epochBoxes} WHERE space_id = $1 AND signing_key = $2`, [
      spaceId,
      signingKey,
    ]);
  }

  async #rows(q: Query, spaceId: SpaceId): Promise<DeviceRow[]> {
    const result = await q<DeviceRow>(
      `SELECT ${COLUMNS} FROM ${this.#t.devices} WHERE space_id = $1
       ORDER BY added_at, signing_key`,
      [spaceId],
    );
    return result.rows;
  }

  /** The space's devices, or null when it is unknown or not sealed. */
  async #sealedDevices(q: Query, spaceId: SpaceId): Promise<StoredDevice[] | null> {
    if (!(await this.#isSealed(q, spaceId))) return null;
    return (await this.#rows(q, spaceId)).map(toStored);
  }

  async #isSealed(q: Query, spaceId: SpaceId): Promise<boolean> {
    const result = await q<{ sealed: boolean }>(
      `SELECT sealed FROM ${this.#t.spaces} WHERE space_id = $1`,
      [spaceId],
    );
    return result.rows[0]?.sealed === true;
  }
}

interface DeviceRow {
  partner_id: string;
  signing_key: Buffer;
  agreement_key: Buffer;
  added_at: string;
  revoked_at: string | null;
  last_seen_at: string | null;
  recovery: boolean;
  recovery_box: Buffer | null;
  recovery_link_seq: string | null;
}

const optionalNumber = (value: string | null): number | null =>
  value === null ? null : Number(value);

function toStored(row: DeviceRow): StoredDevice {
  return {
    partnerId: row.partner_id as PartnerId,
    signingKey: bytes(row.signing_key),
    agreementKey: bytes(row.agreement_key),
    revoked: row.revoked_at !== null,
    recovery: row.recovery,
    box: row.recovery_box && bytes(row.recovery_box),
    linkSeq: optionalNumber(row.recovery_link_seq),
  };
}
