import path from 'node:path';
import Database from 'better-sqlite3';
import { MAX_PARTNERS } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import type { DeviceLinkStore } from './DeviceLinkStore.js';
import {
  preparePrivateDirectory,
  preparePrivateFile,
  tightenIfPresent,
  type TighteningLog,
} from './privateFiles.js';
import type {
  SealedAppendResult,
  SealedEntry,
  SealedLoad,
  SealedSnapshot,
  SnapshotResult,
} from './SealedLog.js';
import { sameBytes } from './sealedChain.js';
import { migrateSqlite } from './sqliteMigrations.js';
import { SqliteDeviceLinks } from './SqliteDeviceLinks.js';
import { SqliteDevices } from './SqliteDevices.js';
import { SqliteEpochBoxes } from './SqliteEpochBoxes.js';
import type { DeviceStore } from './DeviceStore.js';
import type { EpochBoxStore } from './EpochBoxStore.js';
import { SqliteGroupCommit } from './SqliteGroupCommit.js';
import { SqliteSealedLog } from './SqliteSealedLog.js';
import {
  SealRefusal,
  sealSeats,
  type AddPartnerResult,
  type DeviceRecord,
  type NewDevice,
  type NewPartner,
  type NewSealedSpace,
  type NewSpace,
  type PartnerRecord,
  type PlaintextSeal,
  type SealResult,
  type SpaceRecord,
  type StorageAdapter,
  type StoredDoc,
} from './StorageAdapter.js';

/** The database file inside MEND_DATA_DIR. */
export const SQLITE_FILE_NAME = 'mend.sqlite';

export interface SqliteAdapterOptions {
  /** Told when a data directory or database file others could read is tightened. */
  log?: TighteningLog;
}

interface SpaceRow {
  space_id: string;
  name: string | null;
  created_at: number;
  invite_hash: Buffer;
  invite_used_at: number | null;
  sealed: number;
  welcome: Buffer | null;
  welcome_taken_at: number | null;
}

interface DeviceRow {
  space_id: string;
  partner_id: string;
  signing_key: Buffer;
  agreement_key: Buffer;
  token_hash: Buffer;
  added_at: number;
}

interface PartnerRow {
  partner_id: string;
  space_id: string;
  display_name: string;
  token_hash: Buffer;
  joined_at: number;
}

/**
 * The default storage: one SQLite file in WAL mode with synchronous=FULL, so a resolved write
 * survives a crash or power cut. better-sqlite3 blocks the event loop for every commit, so
 * appends arriving in the same tick share one transaction (group commit): one fsync for many
 * edits under load, and no added latency when idle.
 */
export class SqliteAdapter implements StorageAdapter {
  readonly #db: Database.Database;
  /** Prepared statements by their SQL: compiled once, not on every call. */
  readonly #statements = new Map<string, Database.Statement>();
  readonly #group: SqliteGroupCommit;
  readonly #sealed: SqliteSealedLog;
  readonly links: DeviceLinkStore;
  /** `links` itself, with the delete that `deleteSpace` runs inside its transaction. */
  readonly #links: SqliteDeviceLinks;
  readonly devices: DeviceStore;
  /** `devices` itself, with the delete that `deleteSpace` runs inside its transaction. */
  readonly #devices: SqliteDevices;
  readonly epochBoxes: EpochBoxStore;
  /** `epochBoxes` itself, with the delete that `deleteSpace` runs inside its transaction. */
  readonly #epochBoxes: SqliteEpochBoxes;
  /** Named in the refusal of a database written by a newer version. */
  readonly #file: string;

  constructor(file: string, options: SqliteAdapterOptions = {}) {
    this.#file = file;
    preparePrivateDirectory(path.dirname(file), options.log);
    preparePrivateFile(file, options.log);
    for (const companion of [`${file}-wal`, `${file}-shm`])
      tightenIfPresent(companion, options.log);
    this.#db = new Database(file);
    // First, so that two processes opening the same new file wait for each other's WAL switch.
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    // A deleted space, and the plaintext of a converted one, is overwritten on disk, not merely
    // unlinked (a couple's right to leave; docs/security.md).
    this.#db.pragma('secure_delete = ON');
    // A 2 MiB page cache, not better-sqlite3's 16 MB: the cache fills as spaces are opened and
    // stays full while the server idles (memory per connected couple, docs/benchmarks.md);
    // pages it no longer holds are read from the OS's file cache.
    this.#db.pragma('cache_size = -2048');
    this.#group = new SqliteGroupCommit(this.#db);
    this.#sealed = new SqliteSealedLog(this.#db, (source) => this.#sql(source), this.#group);
    this.#links = new SqliteDeviceLinks(this.#db, (source) => this.#sql(source));
    this.links = this.#links;
    this.#devices = new SqliteDevices(this.#db, (source) => this.#sql(source));
    this.devices = this.#devices;
    this.#epochBoxes = new SqliteEpochBoxes(this.#db, (source) => this.#sql(source));
    this.epochBoxes = this.#epochBoxes;
  }

  /** Opens (creating if needed) the database inside a data directory. */
  static inDirectory(dataDir: string, options: SqliteAdapterOptions = {}): SqliteAdapter {
    return new SqliteAdapter(path.join(dataDir, SQLITE_FILE_NAME), options);
  }

  /** The open connection, for operator commands (a checkpoint after deleting a space). */
  get database(): Database.Database {
    return this.#db;
  }

  async migrate(): Promise<void> {
    migrateSqlite(this.#db, `The database at ${this.#file}`);
  }

  async createSpace(space: NewSpace, firstPartner: NewPartner): Promise<void> {
    this.#db.transaction(() => {
      this.#sql(
        'INSERT INTO spaces (space_id, name, created_at, invite_hash) VALUES (?, ?, ?, ?)',
      ).run(space.spaceId, space.name, space.createdAt, Buffer.from(space.inviteHash));
      this.#insertPartner(firstPartner);
    })();
  }

  async getSpace(spaceId: SpaceId): Promise<SpaceRecord | null> {
    const row = this.#sql(
      `SELECT space_id, name, created_at, invite_hash, invite_used_at, sealed, welcome,
              welcome_taken_at
       FROM spaces WHERE space_id = ?`,
    ).get(spaceId) as SpaceRow | undefined;
    if (!row) return null;
    return {
      spaceId: row.space_id as SpaceId,
      name: row.name,
      createdAt: row.created_at,
      inviteHash: plain(row.invite_hash),
      inviteUsedAt: row.invite_used_at,
      sealed: row.sealed === 1,
      welcome: row.welcome ? plain(row.welcome) : null,
      welcomeTakenAt: row.welcome_taken_at,
    };
  }

  async createSealedSpace(space: NewSealedSpace, firstDevice: NewDevice): Promise<void> {
    this.#db.transaction(() => {
      this.#sql(
        `INSERT INTO spaces (space_id, name, created_at, invite_hash, sealed, welcome)
         VALUES (?, NULL, ?, ?, 1, ?)`,
      ).run(
        space.spaceId,
        space.createdAt,
        Buffer.from(space.inviteHash),
        Buffer.from(space.welcome),
      );
      this.#insertDevice(firstDevice);
    })();
  }

  async addSealedPartner(
    spaceId: SpaceId,
    device: NewDevice,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    return this.#db
      .transaction((): AddPartnerResult => {
        const space = this.#sql('SELECT invite_used_at, sealed FROM spaces WHERE space_id = ?').get(
          spaceId,
        ) as { invite_used_at: number | null; sealed: number } | undefined;
        if (space?.sealed !== 1) throw new Error('no such sealed space');
        if (space.invite_used_at !== null) return 'invite-used';
        const { count } = this.#sql(
          'SELECT COUNT(DISTINCT partner_id) AS count FROM devices WHERE space_id = ?',
        ).get(spaceId) as { count: number };
        if (count >= MAX_PARTNERS) return 'space-full';
        this.#insertDevice(device);
        this.#sql('UPDATE spaces SET invite_used_at = ?, welcome = NULL WHERE space_id = ?').run(
          usedAt,
          spaceId,
        );
        return 'added';
      })
      .immediate();
  }

  async handOverWelcome(
    spaceId: SpaceId,
    inviteHash: Uint8Array,
    joinHash: Uint8Array,
    at: number,
  ): Promise<Uint8Array | null> {
    return this.#db
      .transaction((): Uint8Array | null => {
        const row = this.#sql(
          `SELECT welcome, invite_hash, welcome_taken_at FROM spaces
            WHERE space_id = ? AND sealed = 1 AND invite_used_at IS NULL AND welcome IS NOT NULL`,
        ).get(spaceId) as
          { welcome: Buffer; invite_hash: Buffer; welcome_taken_at: number | null } | undefined;
        if (!row) return null;
        const stored = plain(row.invite_hash);
        if (row.welcome_taken_at === null && sameBytes(stored, inviteHash)) {
          this.#sql(
            'UPDATE spaces SET invite_hash = ?, welcome_taken_at = ? WHERE space_id = ?',
          ).run(Buffer.from(joinHash), at, spaceId);
          return plain(row.welcome);
        }
        if (row.welcome_taken_at !== null && sameBytes(stored, joinHash)) return plain(row.welcome);
        return null;
      })
      .immediate();
  }

  async renewDeviceToken(
    spaceId: SpaceId,
    keys: { signingKey: Uint8Array; agreementKey: Uint8Array },
    tokenHash: Uint8Array,
  ): Promise<boolean> {
    const result = this.#sql(
      `UPDATE devices SET token_hash = ?
        WHERE space_id = ? AND signing_key = ? AND agreement_key = ? AND revoked_at IS NULL`,
    ).run(
      Buffer.from(tokenHash),
      spaceId,
      Buffer.from(keys.signingKey),
      Buffer.from(keys.agreementKey),
    );
    return result.changes === 1;
  }

  async listDevices(spaceId: SpaceId): Promise<DeviceRecord[]> {
    const rows = this.#sql('SELECT * FROM devices WHERE space_id = ? ORDER BY added_at, rowid').all(
      spaceId,
    ) as DeviceRow[];
    return rows.map(toDevice);
  }

  async findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null> {
    const row = this.#sql('SELECT * FROM devices WHERE token_hash = ? AND revoked_at IS NULL').get(
      Buffer.from(tokenHash),
    ) as DeviceRow | undefined;
    return row ? toDevice(row) : null;
  }

  async isRevokedDeviceToken(tokenHash: Uint8Array): Promise<boolean> {
    const row = this.#sql(
      'SELECT 1 FROM devices WHERE token_hash = ? AND revoked_at IS NOT NULL LIMIT 1',
    ).get(Buffer.from(tokenHash));
    return row !== undefined;
  }

  async revokeDevice(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<boolean> {
    const key = Buffer.from(signingKey);
    return this.#db
      .transaction((): boolean => {
        const result = this.#sql(
          `UPDATE devices SET revoked_at = ?, recovery_box = NULL
            WHERE space_id = ? AND signing_key = ? AND revoked_at IS NULL`,
        ).run(at, spaceId, key);
        this.#sql('DELETE FROM epoch_boxes WHERE space_id = ? AND signing_key = ?').run(
          spaceId,
          key,
        );
        return result.changes === 1;
      })
      .immediate();
  }

  async getKeyBox(spaceId: SpaceId, signingKey: Uint8Array): Promise<Uint8Array | null> {
    const row = this.#sql('SELECT key_box FROM devices WHERE space_id = ? AND signing_key = ?').get(
      spaceId,
      Buffer.from(signingKey),
    ) as { key_box: Buffer | null } | undefined;
    return row?.key_box ? plain(row.key_box) : null;
  }

  async sealPlaintextSpace(spaceId: SpaceId, seal: PlaintextSeal, at: number): Promise<SealResult> {
    const result = this.#db
      .transaction((): SealResult => {
        const space = this.#sql('SELECT sealed, invite_used_at FROM spaces WHERE space_id = ?').get(
          spaceId,
        ) as { sealed: number; invite_used_at: number | null } | undefined;
        if (!space) return { sealed: false, reason: SealRefusal.noSpace };
        if (space.sealed === 1) return { sealed: false, reason: SealRefusal.sealedAlready };
        const partners = this.#sql(
          'SELECT partner_id, token_hash FROM partners WHERE space_id = ? AND revoked_at IS NULL',
        ).all(spaceId) as { partner_id: string; token_hash: Buffer }[];
        const seats = sealSeats(
          partners.map((p) => ({ partnerId: p.partner_id, tokenHash: plain(p.token_hash) })),
          space.invite_used_at !== null,
          seal,
          at,
        );
        if ('refused' in seats) return { sealed: false, reason: seats.refused };
        this.#sql(
          `UPDATE spaces SET sealed = 1, name = NULL, snapshot = NULL, snapshot_seq = NULL,
             invite_hash = COALESCE(?, invite_hash),
             invite_used_at = CASE WHEN ? THEN NULL ELSE COALESCE(invite_used_at, ?) END,
             welcome = ?, welcome_taken_at = NULL
           WHERE space_id = ?`,
        ).run(
          seal.invite && Buffer.from(seal.invite.inviteHash),
          seal.invite ? 1 : 0,
          at,
          seal.invite && Buffer.from(seal.invite.welcome),
          spaceId,
        );
        for (const table of ['updates', 'doc_checks', 'partners']) {
          this.#sql(`DELETE FROM ${table} WHERE space_id = ?`).run(spaceId);
        }
        for (const device of seats.devices) {
          this.#insertDevice({ ...device, spaceId }, device.keyBox);
        }
        for (const envelope of seal.envelopes) {
          const appended = this.#sealed.appendNow(spaceId, envelope);
          if (appended.outcome !== 'stored') {
            throw new Error(`a conversion envelope was not stored: ${JSON.stringify(appended)}`);
          }
        }
        return { sealed: true };
      })
      .immediate();
    // secure_delete zeroed the deleted rows in the pages the commit wrote to the WAL; copying
    // them over the database file and truncating the WAL leaves the plaintext in neither.
    if (result.sealed) this.#db.pragma('wal_checkpoint(TRUNCATE)');
    return result;
  }

  async addPartner(
    spaceId: SpaceId,
    partner: NewPartner,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    return this.#db
      .transaction((): AddPartnerResult => {
        const space = this.#sql('SELECT invite_used_at, sealed FROM spaces WHERE space_id = ?').get(
          spaceId,
        ) as { invite_used_at: number | null; sealed: number } | undefined;
        if (!space) throw new Error('no such space');
        if (space.sealed === 1) throw new Error('a sealed space has devices, not partner rows');
        if (space.invite_used_at !== null) return 'invite-used';
        const { count } = this.#sql(
          'SELECT COUNT(*) AS count FROM partners WHERE space_id = ?',
        ).get(spaceId) as { count: number };
        if (count >= MAX_PARTNERS) return 'space-full';
        this.#insertPartner(partner);
        this.#sql('UPDATE spaces SET invite_used_at = ? WHERE space_id = ?').run(usedAt, spaceId);
        return 'added';
      })
      .immediate();
  }

  async listPartners(spaceId: SpaceId): Promise<PartnerRecord[]> {
    const rows = this.#sql(
      'SELECT * FROM partners WHERE space_id = ? ORDER BY joined_at, rowid',
    ).all(spaceId) as PartnerRow[];
    return rows.map(toPartner);
  }

  async findPartnerByTokenHash(tokenHash: Uint8Array): Promise<PartnerRecord | null> {
    const row = this.#sql('SELECT * FROM partners WHERE token_hash = ? AND revoked_at IS NULL').get(
      Buffer.from(tokenHash),
    ) as PartnerRow | undefined;
    return row ? toPartner(row) : null;
  }

  async revokePartner(spaceId: SpaceId, partnerId: PartnerId, at: number): Promise<boolean> {
    const result = this.#sql(
      `UPDATE partners SET revoked_at = ?
        WHERE space_id = ? AND partner_id = ? AND revoked_at IS NULL`,
    ).run(at, spaceId, partnerId);
    return result.changes === 1;
  }

  async getDocCheck(spaceId: SpaceId, partnerId: PartnerId): Promise<number | null> {
    const row = this.#sql(
      'SELECT schema_version FROM doc_checks WHERE space_id = ? AND partner_id = ?',
    ).get(spaceId, partnerId) as { schema_version: number } | undefined;
    return row?.schema_version ?? null;
  }

  async recordDocCheck(
    spaceId: SpaceId,
    partnerId: PartnerId,
    schemaVersion: number,
  ): Promise<void> {
    this.#sql(
      `INSERT INTO doc_checks (space_id, partner_id, schema_version)
         SELECT space_id, partner_id, ? FROM partners WHERE space_id = ? AND partner_id = ?
         ON CONFLICT (space_id, partner_id) DO UPDATE SET schema_version = excluded.schema_version`,
    ).run(schemaVersion, spaceId, partnerId);
  }

  async loadDoc(spaceId: SpaceId): Promise<StoredDoc> {
    return this.#db.transaction((): StoredDoc => {
      const space = this.#sql('SELECT snapshot FROM spaces WHERE space_id = ?').get(spaceId) as
        { snapshot: Buffer | null } | undefined;
      const rows = this.#sql('SELECT seq, data FROM updates WHERE space_id = ? ORDER BY seq').all(
        spaceId,
      ) as { seq: number; data: Buffer }[];
      return {
        snapshot: space?.snapshot ? plain(space.snapshot) : null,
        updates: rows.map((r) => ({ seq: r.seq, data: plain(r.data) })),
      };
    })();
  }

  appendUpdate(spaceId: SpaceId, update: Uint8Array): Promise<number> {
    return this.#group.run(() => {
      const data = Buffer.from(update.buffer, update.byteOffset, update.byteLength);
      const { changes, lastInsertRowid } = this.#sql(
        'INSERT INTO updates (space_id, data) SELECT space_id, ? FROM spaces WHERE space_id = ? AND sealed = 0',
      ).run(data, spaceId);
      if (changes !== 1) throw new Error('no such plaintext space');
      return Number(lastInsertRowid);
    });
  }

  async replaceWithSnapshot(
    spaceId: SpaceId,
    snapshot: Uint8Array,
    upToSeq: number,
  ): Promise<void> {
    this.#db
      .transaction(() => {
        const changed = this.#sql(
          `UPDATE spaces SET snapshot = ?, snapshot_seq = ?
             WHERE space_id = ? AND sealed = 0 AND (snapshot_seq IS NULL OR snapshot_seq <= ?)`,
        ).run(Buffer.from(snapshot), upToSeq, spaceId, upToSeq);
        if (changed.changes === 0) return;
        this.#sql('DELETE FROM updates WHERE space_id = ? AND seq <= ?').run(spaceId, upToSeq);
      })
      .immediate();
  }

  async deleteSpace(spaceId: SpaceId): Promise<void> {
    this.#db.transaction(() => {
      // The cascade would do this too; explicit deletes keep it true if foreign keys are off.
      this.#sql('DELETE FROM updates WHERE space_id = ?').run(spaceId);
      this.#sealed.deleteSpace(spaceId);
      this.#links.deleteSpace(spaceId);
      this.#devices.deleteSpace(spaceId);
      this.#epochBoxes.deleteSpace(spaceId);
      this.#sql('DELETE FROM devices WHERE space_id = ?').run(spaceId);
      this.#sql('DELETE FROM doc_checks WHERE space_id = ?').run(spaceId);
      this.#sql('DELETE FROM partners WHERE space_id = ?').run(spaceId);
      this.#sql('DELETE FROM spaces WHERE space_id = ?').run(spaceId);
    })();
  }

  async storedBytes(spaceId: SpaceId): Promise<number> {
    const row = this.#sql(
      `SELECT COALESCE((SELECT LENGTH(snapshot) FROM spaces WHERE space_id = ?), 0)
              + COALESCE((SELECT SUM(LENGTH(data)) FROM updates WHERE space_id = ?), 0) AS bytes`,
    ).get(spaceId, spaceId) as { bytes: number };
    return row.bytes + this.#sealed.storedBytes(spaceId);
  }

  appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    return this.#sealed.appendEnvelope(spaceId, entry);
  }

  loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    return this.#sealed.loadEnvelopes(spaceId, since);
  }

  replaceWithSealedSnapshot(spaceId: SpaceId, snapshot: SealedSnapshot): Promise<SnapshotResult> {
    return this.#sealed.replaceWithSealedSnapshot(spaceId, snapshot);
  }

  async close(): Promise<void> {
    this.#group.flush();
    if (this.#db.open) this.#db.close();
  }

  #sql(source: string): Database.Statement {
    let statement = this.#statements.get(source);
    if (!statement) {
      statement = this.#db.prepare(source);
      this.#statements.set(source, statement);
    }
    return statement;
  }

  #insertDevice(device: NewDevice, keyBox: Uint8Array | null = null): void {
    this.#sql(
      `INSERT INTO devices
         (space_id, partner_id, signing_key, agreement_key, token_hash, added_at, key_box)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      device.spaceId,
      device.partnerId,
      Buffer.from(device.signingKey),
      Buffer.from(device.agreementKey),
      Buffer.from(device.tokenHash),
      device.addedAt,
      keyBox && Buffer.from(keyBox),
    );
  }

  #insertPartner(partner: NewPartner): void {
    this.#sql(
      'INSERT INTO partners (partner_id, space_id, display_name, token_hash, joined_at) VALUES (?, ?, ?, ?, ?)',
    ).run(
      partner.partnerId,
      partner.spaceId,
      partner.displayName,
      Buffer.from(partner.tokenHash),
      partner.joinedAt,
    );
  }
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(
    buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength),
  );
}

function toDevice(row: DeviceRow): DeviceRecord {
  return {
    spaceId: row.space_id as SpaceId,
    partnerId: row.partner_id as PartnerId,
    signingKey: plain(row.signing_key),
    agreementKey: plain(row.agreement_key),
    tokenHash: plain(row.token_hash),
    addedAt: row.added_at,
  };
}

function toPartner(row: PartnerRow): PartnerRecord {
  return {
    partnerId: row.partner_id as PartnerId,
    spaceId: row.space_id as SpaceId,
    displayName: row.display_name,
    tokenHash: plain(row.token_hash),
    joinedAt: row.joined_at,
  };
}
