import { MAX_PARTNERS } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import type pg from 'pg';
import { bytes, inTransaction, type Query } from './postgresTransaction.js';
import { sameBytes } from './sealedChain.js';
import type {
  AddPartnerResult,
  DeviceRecord,
  NewDevice,
  NewSealedSpace,
  SpaceDirectory,
} from './StorageAdapter.js';

type SealedDirectory = Pick<
  SpaceDirectory,
  | 'createSealedSpace'
  | 'addSealedPartner'
  | 'handOverWelcome'
  | 'renewDeviceToken'
  | 'listDevices'
  | 'findDeviceByTokenHash'
  | 'isRevokedDeviceToken'
  | 'revokeDevice'
  | 'getKeyBox'
>;

/**
 * The sealed spaces' part of the directory in PostgreSQL: a space row without a name, and the
 * `devices` table, with a revoked device's `epoch_boxes` (see postgresMigrations.ts).
 */
export class PostgresSealedDirectory implements SealedDirectory {
  readonly #pool: pg.Pool;
  readonly #t: { spaces: string; devices: string; epochBoxes: string };

  constructor(pool: pg.Pool, tables: { spaces: string; devices: string; epochBoxes: string }) {
    this.#pool = pool;
    this.#t = tables;
  }

  async createSealedSpace(space: NewSealedSpace, firstDevice: NewDevice): Promise<void> {
    await inTransaction(this.#pool, async (q) => {
      await q(
        `INSERT INTO ${this.#t.spaces} (space_id, name, created_at, invite_hash, sealed, welcome)
         VALUES ($1, NULL, $2, $3, true, $4)`,
        [space.spaceId, space.createdAt, space.inviteHash, space.welcome],
      );
      await this.#insertDevice(q, firstDevice);
    });
  }

  addSealedPartner(spaceId: SpaceId, device: NewDevice, usedAt: number): Promise<AddPartnerResult> {
    return inTransaction(this.#pool, async (q) => {
      // The row lock makes two simultaneous joins (on two nodes) take turns: the second sees
      // the invite used.
      const space = await q<{ invite_used_at: string | null; sealed: boolean }>(
        `SELECT invite_used_at, sealed FROM ${this.#t.spaces} WHERE space_id = $1 FOR UPDATE`,
        [spaceId],
      );
      const row = space.rows[0];
      if (!row?.sealed) throw new Error(`space ${spaceId} is not a sealed space`);
      if (row.invite_used_at !== null) return 'invite-used';
      const count = await q<{ n: string }>(
        `SELECT count(DISTINCT partner_id) AS n FROM ${this.#t.devices} WHERE space_id = $1`,
        [spaceId],
      );
      if (Number(count.rows[0]?.n ?? 0) >= MAX_PARTNERS) return 'space-full';
      await this.#insertDevice(q, { ...device, spaceId });
      await q(
        `UPDATE ${this.#t.spaces} SET invite_used_at = $2, welcome = NULL WHERE space_id = $1`,
        [spaceId, usedAt],
      );
      return 'added';
    });
  }

  handOverWelcome(
    spaceId: SpaceId,
    inviteHash: Uint8Array,
    joinHash: Uint8Array,
    at: number,
  ): Promise<Uint8Array | null> {
    return inTransaction(this.#pool, async (q) => {
      // The row lock makes two fetches at once (on two nodes) take turns: the second finds the
      // invite hash changed.
      const space = await q<{
        welcome: Buffer;
        invite_hash: Buffer;
        welcome_taken_at: string | null;
      }>(
        `SELECT welcome, invite_hash, welcome_taken_at FROM ${this.#t.spaces}
          WHERE space_id = $1 AND sealed AND invite_used_at IS NULL AND welcome IS NOT NULL
          FOR UPDATE`,
        [spaceId],
      );
      const row = space.rows[0];
      if (!row) return null;
      const stored = bytes(row.invite_hash);
      if (row.welcome_taken_at === null && sameBytes(stored, inviteHash)) {
        await q(
          `UPDATE ${this.#t.spaces} SET invite_hash = $2, welcome_taken_at = $3 WHERE space_id = $1`,
          [spaceId, joinHash, at],
        );
        return bytes(row.welcome);
      }
      if (row.welcome_taken_at !== null && sameBytes(stored, joinHash)) return bytes(row.welcome);
      return null;
    });
  }

  async renewDeviceToken(
    spaceId: SpaceId,
    keys: { signingKey: Uint8Array; agreementKey: Uint8Array },
    tokenHash: Uint8Array,
  ): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE ${this.#t.devices} SET token_hash = $4
        WHERE space_id = $1 AND signing_key = $2 AND agreement_key = $3 AND revoked_at IS NULL`,
      [spaceId, keys.signingKey, keys.agreementKey, tokenHash],
    );
    return result.rowCount === 1;
  }

  async listDevices(spaceId: SpaceId): Promise<DeviceRecord[]> {
    const result = await this.#pool.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM ${this.#t.devices} WHERE space_id = $1
       ORDER BY added_at, signing_key`,
      [spaceId],
    );
    return result.rows.map(toDevice);
  }

  async isRevokedDeviceToken(tokenHash: Uint8Array): Promise<boolean> {
    const result = await this.#pool.query(
      `SELECT 1 FROM ${this.#t.devices} WHERE token_hash = $1 AND revoked_at IS NOT NULL LIMIT 1`,
      [tokenHash],
    );
    return result.rows.length > 0;
  }

  async findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null> {
    const result = await this.#pool.query<DeviceRow>(
      `SELECT ${DEVICE_COLUMNS} FROM ${this.#t.devices}
        WHERE token_hash = $1 AND revoked_at IS NULL`,
      [tokenHash],
    );
    const row = result.rows[0];
    return row ? toDevice(row) : null;
  }

  revokeDevice(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<boolean> {
    return inTransaction(this.#pool, async (q) => {
      const result = await q(
        `UPDATE ${this.#t.devices} SET revoked_at = $3, recovery_box = NULL
          WHERE space_id = $1 AND signing_key = $2 AND revoked_at IS NULL`,
        [spaceId, signingKey, at],
      );
      // A statement of its own, after the row's update: it sees the boxes of a put that held
      // the row FOR SHARE (PostgresEpochBoxes) and committed while the update waited.
      await q(`DELETE FROM ${this.#t.epochBoxes} WHERE space_id = $1 AND signing_key = $2`, [
        spaceId,
        signingKey,
      ]);
      return result.rowCount === 1;
    });
  }

  async getKeyBox(spaceId: SpaceId, signingKey: Uint8Array): Promise<Uint8Array | null> {
    const result = await this.#pool.query<{ key_box: Buffer | null }>(
      `SELECT key_box FROM ${this.#t.devices} WHERE space_id = $1 AND signing_key = $2`,
      [spaceId, signingKey],
    );
    const box = result.rows[0]?.key_box;
    return box ? bytes(box) : null;
  }

  async #insertDevice(q: Query, device: NewDevice): Promise<void> {
    await q(
      `INSERT INTO ${this.#t.devices}
         (space_id, partner_id, signing_key, agreement_key, token_hash, added_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        device.spaceId,
        device.partnerId,
        device.signingKey,
        device.agreementKey,
        device.tokenHash,
        device.addedAt,
      ],
    );
  }
}

const DEVICE_COLUMNS = 'space_id, partner_id, signing_key, agreement_key, token_hash, added_at';

interface DeviceRow {
  space_id: string;
  partner_id: string;
  signing_key: Buffer;
  agreement_key: Buffer;
  token_hash: Buffer;
  added_at: string;
}

function toDevice(row: DeviceRow): DeviceRecord {
  return {
    spaceId: row.space_id as SpaceId,
    partnerId: row.partner_id as PartnerId,
    signingKey: bytes(row.signing_key),
    agreementKey: bytes(row.agreement_key),
    tokenHash: bytes(row.token_hash),
    addedAt: Number(row.added_at),
  };
}
