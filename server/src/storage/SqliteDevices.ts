import type Database from 'better-sqlite3';
import type { PartnerId, SpaceId } from '@mend/protocol';
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
import { sameBytes } from './sealedChain.js';
import type { SqliteStatements } from './SqliteSealedLog.js';

interface DeviceRow {
  partner_id: string;
  signing_key: Buffer;
  agreement_key: Buffer;
  added_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  recovery: number;
  recovery_box: Buffer | null;
  recovery_link_seq: number | null;
}

const COLUMNS = `partner_id, signing_key, agreement_key, added_at, revoked_at, last_seen_at,
  recovery, recovery_box, recovery_link_seq`;

/**
 * DeviceStore in SQLite (columns of `devices`, tables `recovery_challenges` and
 * `recovery_failures`, and a revoked device's `epoch_boxes`; see sqliteMigrations.ts). Every write is one IMMEDIATE transaction: it
 * holds the write lock from its first read, so two processes sharing the file take turns.
 */
export class SqliteDevices implements DeviceStore {
  readonly #db: Database.Database;
  readonly #sql: SqliteStatements;

  constructor(db: Database.Database, sql: SqliteStatements) {
    this.#db = db;
    this.#sql = sql;
  }

  async listDeviceDetails(spaceId: SpaceId): Promise<DeviceDetails[]> {
    return this.#rows(spaceId).map((row) => ({
      partnerId: row.partner_id as PartnerId,
      signingKey: plain(row.signing_key),
      addedAt: row.added_at,
      lastSeenAt: row.last_seen_at,
      removedAt: row.revoked_at,
      recovery: row.recovery === 1,
    }));
  }

  async markSeen(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<void> {
    this.#sql('UPDATE devices SET last_seen_at = ? WHERE space_id = ? AND signing_key = ?').run(
      at,
      spaceId,
      Buffer.from(signingKey),
    );
  }

  async removeDevice(
    spaceId: SpaceId,
    signingKey: Uint8Array,
    by: Uint8Array,
    at: number,
  ): Promise<RemoveOutcome> {
    return this.#db
      .transaction((): RemoveOutcome => {
        const step = removeStep(this.#sealedDevices(spaceId), signingKey, by);
        if (step.revoke) this.#revoke(spaceId, signingKey, by, at);
        return step.outcome;
      })
      .immediate();
  }

  async putRecoveryKit(
    spaceId: SpaceId,
    by: Uint8Array,
    kit: RecoveryKit,
    at: number,
  ): Promise<KitResult> {
    return this.#db
      .transaction((): KitResult => {
        const step = kitStep(this.#sealedDevices(spaceId), by, kit);
        if (!step.store) return step.result;
        for (const replaced of step.store.replaced) this.#revoke(spaceId, replaced, by, at);
        this.#sql(
          `INSERT INTO devices (space_id, partner_id, signing_key, agreement_key, token_hash,
             added_at, recovery, recovery_box, recovery_link_seq)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)`,
        ).run(
          spaceId,
          step.store.partnerId,
          Buffer.from(kit.signingKey),
          Buffer.from(kit.agreementKey),
          Buffer.from(kit.tokenHash),
          at,
          Buffer.from(kit.box),
          kit.linkSeq,
        );
        return { outcome: KitOutcome.stored, replaced: step.store.replaced };
      })
      .immediate();
  }

  async issueChallenge(
    spaceId: SpaceId,
    challengeHash: Uint8Array,
    at: number,
    expiresAt: number,
  ): Promise<boolean> {
    return this.#db
      .transaction((): boolean => {
        if (!this.#isSealed(spaceId)) return false;
        this.#sql('DELETE FROM recovery_challenges WHERE space_id = ? AND expires_at <= ?').run(
          spaceId,
          at,
        );
        this.#sql(
          'INSERT INTO recovery_challenges (space_id, challenge_hash, expires_at) VALUES (?, ?, ?)',
        ).run(spaceId, Buffer.from(challengeHash), expiresAt);
        return true;
      })
      .immediate();
  }

  async recover(
    spaceId: SpaceId,
    attempt: RecoveryAttempt,
    at: number,
    limit: RecoveryLimit,
  ): Promise<RecoveryResult> {
    return this.#db
      .transaction((): RecoveryResult => {
        if (!this.#isSealed(spaceId)) return { outcome: 'refused' };
        this.#sql('DELETE FROM recovery_failures WHERE space_id = ? AND at <= ?').run(
          spaceId,
          at - limit.windowMs,
        );
        const failures = (
          this.#sql('SELECT at FROM recovery_failures WHERE space_id = ?').all(spaceId) as {
            at: number;
          }[]
        ).map((row) => row.at);
        const retryAt = limitedUntil(failures, at, limit);
        if (retryAt !== null) return { outcome: 'limited', retryAt };
        const used = this.#sql(
          `DELETE FROM recovery_challenges
            WHERE space_id = ? AND (challenge_hash = ? OR expires_at <= ?)
            RETURNING challenge_hash, expires_at`,
        ).all(spaceId, Buffer.from(attempt.challengeHash), at) as {
          challenge_hash: Buffer;
          expires_at: number;
        }[];
        const live = used.some(
          (row) =>
            row.expires_at > at && sameBytes(plain(row.challenge_hash), attempt.challengeHash),
        );
        const row = this.#sql(
          `SELECT ${COLUMNS} FROM devices WHERE space_id = ? AND signing_key = ?`,
        ).get(spaceId, Buffer.from(attempt.signingKey)) as DeviceRow | undefined;
        const recovered = recoveryStep(row ? toStored(row) : null, attempt, live);
        if (!recovered) {
          this.#sql('INSERT INTO recovery_failures (space_id, at) VALUES (?, ?)').run(spaceId, at);
          return { outcome: 'refused' };
        }
        this.#sql('UPDATE devices SET token_hash = ? WHERE space_id = ? AND signing_key = ?').run(
          Buffer.from(attempt.tokenHash),
          spaceId,
          Buffer.from(attempt.signingKey),
        );
        return { outcome: 'recovered', ...recovered };
      })
      .immediate();
  }

  /** Inside SqliteAdapter.deleteSpace's transaction. */
  deleteSpace(spaceId: SpaceId): void {
    this.#sql('DELETE FROM recovery_challenges WHERE space_id = ?').run(spaceId);
    this.#sql('DELETE FROM recovery_failures WHERE space_id = ?').run(spaceId);
  }

  #revoke(spaceId: SpaceId, signingKey: Uint8Array, by: Uint8Array, at: number): void {
    this.#sql(
      `UPDATE devices SET revoked_at = ?, revoked_by = ?, recovery_box = NULL
        WHERE space_id = ? AND signing_key = ? AND revoked_at IS NULL`,
    ).run(at, Buffer.from(by), spaceId, Buffer.from(signingKey));
    this.#sql('DELETE FROM epoch_boxes WHERE space_id = ? AND signing_key = ?').run(
      spaceId,
      Buffer.from(signingKey),
    );
  }

  #rows(spaceId: SpaceId): DeviceRow[] {
    return this.#sql(
      `SELECT ${COLUMNS} FROM devices WHERE space_id = ? ORDER BY added_at, rowid`,
    ).all(spaceId) as DeviceRow[];
  }

  /** The space's devices, or null when it is unknown or not sealed. */
  #sealedDevices(spaceId: SpaceId): StoredDevice[] | null {
    return this.#isSealed(spaceId) ? this.#rows(spaceId).map(toStored) : null;
  }

  #isSealed(spaceId: SpaceId): boolean {
    const row = this.#sql('SELECT sealed FROM spaces WHERE space_id = ?').get(spaceId) as
      { sealed: number } | undefined;
    return row?.sealed === 1;
  }
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer);
}

function toStored(row: DeviceRow): StoredDevice {
  return {
    partnerId: row.partner_id as PartnerId,
    signingKey: plain(row.signing_key),
    agreementKey: plain(row.agreement_key),
    revoked: row.revoked_at !== null,
    recovery: row.recovery === 1,
    box: row.recovery_box && plain(row.recovery_box),
    linkSeq: row.recovery_link_seq,
  };
}
