import { MAX_PARTNERS } from '@mend/model';
import type { PartnerId, SpaceId } from '@mend/protocol';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DeviceLinkStore } from './DeviceLinkStore.js';
import type { DeviceStore } from './DeviceStore.js';
import type { EpochBoxStore } from './EpochBoxStore.js';
import { PostgresDeviceLinks } from './PostgresDeviceLinks.js';
import { PostgresConversion } from './PostgresConversion.js';
import { POSTGRES_MIGRATIONS } from './postgresMigrations.js';
import { PostgresDevices } from './PostgresDevices.js';
import { PostgresEpochBoxes } from './PostgresEpochBoxes.js';
import { PostgresSealedDirectory } from './PostgresSealedDirectory.js';
import { PostgresSealedLog } from './PostgresSealedLog.js';
import { bytes, inTransaction, lockSpace, type Query } from './postgresTransaction.js';
import type {
  SealedAppendResult,
  SealedEntry,
  SealedLoad,
  SealedSnapshot,
  SnapshotResult,
} from './SealedLog.js';
import type {
  AddPartnerResult,
  DeviceRecord,
  NewDevice,
  NewPartner,
  NewSealedSpace,
  NewSpace,
  PartnerRecord,
  PlaintextSeal,
  SealResult,
  SpaceRecord,
  StorageAdapter,
  StoredDoc,
} from './StorageAdapter.js';
import { NewerSchemaError } from './schemaVersion.js';

export interface PostgresAdapterOptions {
  /** `postgres://…` (DATABASE_URL). */
  connectionString: string;
  /**
   * Schema that holds Mend's tables, created if missing. Lets Mend share a database with other
   * applications, and lets parallel test runs keep apart.
   */
  schema?: string;
  /** Connections per process. */
  maxConnections?: number;
  log?: Pick<Logger, 'error'>;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * PostgreSQL storage, for several server processes sharing one database.
 *
 * Appends, compaction and deletion of one space are serialised by a transaction-scoped advisory
 * lock on that space. Without it, two nodes appending at once could commit seq 11 before seq 10,
 * and a compaction that saw 11 but not yet 10 would delete 10 when it commits: an update lost.
 * With the lock, seeing seq N means every lower seq of the space is already visible.
 */
export class PostgresAdapter implements StorageAdapter {
  readonly #pool: pg.Pool;
  readonly #schema: string;
  /** Schema-qualified table names, quoted once here so no query builds SQL from input. */
  readonly #t: {
    spaces: string;
    partners: string;
    updates: string;
    snapshots: string;
    docChecks: string;
    migrations: string;
    devices: string;
    envelopes: string;
    streams: string;
    sealedSnapshots: string;
    links: string;
    challenges: string;
    failures: string;
    epochBoxes: string;
  };
  readonly #sealedDirectory: PostgresSealedDirectory;
  readonly #sealedLog: PostgresSealedLog;
  readonly #conversion: PostgresConversion;
  readonly links: DeviceLinkStore;
  readonly devices: DeviceStore;
  readonly epochBoxes: EpochBoxStore;

  constructor(options: PostgresAdapterOptions) {
    const schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(schema)) {
      throw new Error(
        `PostgreSQL schema name "${schema}" must be lower-case letters, digits and _`,
      );
    }
    this.#schema = schema;
    const s = pg.escapeIdentifier(schema);
    this.#t = {
      spaces: `${s}.spaces`,
      partners: `${s}.partners`,
      updates: `${s}.doc_updates`,
      snapshots: `${s}.doc_snapshots`,
      docChecks: `${s}.doc_checks`,
      migrations: `${s}.schema_migrations`,
      devices: `${s}.devices`,
      envelopes: `${s}.sealed_envelopes`,
      streams: `${s}.sealed_streams`,
      sealedSnapshots: `${s}.sealed_snapshots`,
      links: `${s}.device_links`,
      challenges: `${s}.recovery_challenges`,
      failures: `${s}.recovery_failures`,
      epochBoxes: `${s}.epoch_boxes`,
    };
    this.#pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      keepAlive: true,
      // A node that hangs mid-transaction would hold its space's lock and stall every other
      // node's writes to that space; PostgreSQL ends such a session and frees the lock.
      idle_in_transaction_session_timeout: 30_000,
      // Nothing Mend asks takes long; a statement still waiting after this is stuck (a lock
      // held by a vanished node), and failing it lets the room close and its clients retry.
      statement_timeout: 30_000,
    });
    const log = options.log;
    // An idle connection that breaks (database restarted) emits on the pool; unhandled, that
    // event would end the process. The next query simply opens a new connection.
    this.#pool.on('error', (err) => {
      log?.error({ err }, 'a PostgreSQL connection was lost; it will be reopened on next use');
    });
    this.#sealedDirectory = new PostgresSealedDirectory(this.#pool, this.#t);
    this.#sealedLog = new PostgresSealedLog(
      this.#pool,
      { ...this.#t, snapshots: this.#t.sealedSnapshots },
      (spaceId) => this.#spaceLockKey(spaceId),
    );
    this.#conversion = new PostgresConversion({
      pool: this.#pool,
      tables: this.#t,
      lockKey: (spaceId) => this.#spaceLockKey(spaceId),
      sealedLog: this.#sealedLog,
      log,
    });
    this.links = new PostgresDeviceLinks(
      this.#pool,
      this.#t,
      (spaceId) => `${this.#spaceLockKey(spaceId)}:links`,
    );
    this.devices = new PostgresDevices(
      this.#pool,
      this.#t,
      (spaceId) => `${this.#spaceLockKey(spaceId)}:devices`,
    );
    // The devices lock: a put and a removal or kit of the same space take turns.
    this.epochBoxes = new PostgresEpochBoxes(
      this.#pool,
      this.#t,
      (spaceId) => `${this.#spaceLockKey(spaceId)}:devices`,
    );
  }

  async migrate(): Promise<void> {
    const client = await this.#pool.connect();
    let broken: Error | undefined;
    try {
      // Session-level lock: processes starting together take turns, and the later ones find
      // every migration already recorded.
      await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
        `mend:migrate:${this.#schema}`,
      ]);
      try {
        const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
          this.#schema,
        ]);
        if (exists.rowCount === 0)
          await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(this.#schema)}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.#t.migrations} (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
           )`,
        );
        const applied = await client.query<{ version: number }>(
          `SELECT version FROM ${this.#t.migrations}`,
        );
        const done = new Set(applied.rows.map((r) => r.version));
        const newest = Math.max(0, ...done);
        if (newest > POSTGRES_MIGRATIONS.length) {
          throw new NewerSchemaError(
            `The PostgreSQL schema "${this.#schema}"`,
            newest,
            POSTGRES_MIGRATIONS.length,
          );
        }
        for (const [index, sql] of POSTGRES_MIGRATIONS.entries()) {
          const version = index + 1;
          if (done.has(version)) continue;
          await client.query('BEGIN');
          try {
            await client.query(`SET LOCAL search_path TO ${pg.escapeIdentifier(this.#schema)}`);
            await client.query(sql);
            await client.query(`INSERT INTO ${this.#t.migrations} (version) VALUES ($1)`, [
              version,
            ]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK');
            throw err;
          }
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [
          `mend:migrate:${this.#schema}`,
        ]);
      }
    } catch (err) {
      broken = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      // A connection whose unlock may have failed must not go back to the pool holding the lock.
      client.release(broken);
    }
  }

  // --- spaces, partners, tokens -------------------------------------------------------------

  async createSpace(space: NewSpace, firstPartner: NewPartner): Promise<void> {
    await inTransaction(this.#pool, async (q) => {
      await q(
        `INSERT INTO ${this.#t.spaces} (space_id, name, created_at, invite_hash, invite_used_at)
         VALUES ($1, $2, $3, $4, NULL)`,
        [space.spaceId, space.name, space.createdAt, space.inviteHash],
      );
      await this.#insertPartner(q, firstPartner);
    });
  }

  async getSpace(spaceId: SpaceId): Promise<SpaceRecord | null> {
    const result = await this.#pool.query<SpaceRow>(
      `SELECT space_id, name, created_at, invite_hash, invite_used_at, sealed, welcome,
              welcome_taken_at
       FROM ${this.#t.spaces} WHERE space_id = $1`,
      [spaceId],
    );
    const row = result.rows[0];
    return row ? toSpace(row) : null;
  }

  async addPartner(
    spaceId: SpaceId,
    partner: NewPartner,
    usedAt: number,
  ): Promise<AddPartnerResult> {
    return inTransaction(this.#pool, async (q) => {
      // The row lock makes two simultaneous joins (on two nodes) take turns: the second sees
      // the invite used.
      const space = await q<{ invite_used_at: string | null; sealed: boolean }>(
        `SELECT invite_used_at, sealed FROM ${this.#t.spaces} WHERE space_id = $1 FOR UPDATE`,
        [spaceId],
      );
      const row = space.rows[0];
      if (!row) throw new Error(`space ${spaceId} does not exist`);
      if (row.sealed) throw new Error('a sealed space has devices, not partner rows');
      if (row.invite_used_at !== null) return 'invite-used';
      const count = await q<{ n: string }>(
        `SELECT count(*) AS n FROM ${this.#t.partners} WHERE space_id = $1`,
        [spaceId],
      );
      if (Number(count.rows[0]?.n ?? 0) >= MAX_PARTNERS) return 'space-full';
      await this.#insertPartner(q, { ...partner, spaceId });
      await q(`UPDATE ${this.#t.spaces} SET invite_used_at = $2 WHERE space_id = $1`, [
        spaceId,
        usedAt,
      ]);
      return 'added';
    });
  }

  async listPartners(spaceId: SpaceId): Promise<PartnerRecord[]> {
    const result = await this.#pool.query<PartnerRow>(
      `SELECT partner_id, space_id, display_name, token_hash, joined_at FROM ${this.#t.partners}
       WHERE space_id = $1 ORDER BY joined_at, partner_id`,
      [spaceId],
    );
    return result.rows.map(toPartner);
  }

  async findPartnerByTokenHash(tokenHash: Uint8Array): Promise<PartnerRecord | null> {
    const result = await this.#pool.query<PartnerRow>(
      `SELECT partner_id, space_id, display_name, token_hash, joined_at FROM ${this.#t.partners}
       WHERE token_hash = $1 AND revoked_at IS NULL`,
      [tokenHash],
    );
    const row = result.rows[0];
    return row ? toPartner(row) : null;
  }

  async revokePartner(spaceId: SpaceId, partnerId: PartnerId, at: number): Promise<boolean> {
    const result = await this.#pool.query(
      `UPDATE ${this.#t.partners} SET revoked_at = $3
        WHERE space_id = $1 AND partner_id = $2 AND revoked_at IS NULL`,
      [spaceId, partnerId, at],
    );
    return result.rowCount === 1;
  }

  // --- sealed spaces (PostgresSealedDirectory, PostgresSealedLog) -----------------------------

  createSealedSpace(space: NewSealedSpace, firstDevice: NewDevice): Promise<void> {
    return this.#sealedDirectory.createSealedSpace(space, firstDevice);
  }

  addSealedPartner(spaceId: SpaceId, device: NewDevice, usedAt: number): Promise<AddPartnerResult> {
    return this.#sealedDirectory.addSealedPartner(spaceId, device, usedAt);
  }

  handOverWelcome(
    spaceId: SpaceId,
    inviteHash: Uint8Array,
    joinHash: Uint8Array,
    at: number,
  ): Promise<Uint8Array | null> {
    return this.#sealedDirectory.handOverWelcome(spaceId, inviteHash, joinHash, at);
  }

  renewDeviceToken(
    spaceId: SpaceId,
    keys: { signingKey: Uint8Array; agreementKey: Uint8Array },
    tokenHash: Uint8Array,
  ): Promise<boolean> {
    return this.#sealedDirectory.renewDeviceToken(spaceId, keys, tokenHash);
  }

  listDevices(spaceId: SpaceId): Promise<DeviceRecord[]> {
    return this.#sealedDirectory.listDevices(spaceId);
  }

  findDeviceByTokenHash(tokenHash: Uint8Array): Promise<DeviceRecord | null> {
    return this.#sealedDirectory.findDeviceByTokenHash(tokenHash);
  }

  revokeDevice(spaceId: SpaceId, signingKey: Uint8Array, at: number): Promise<boolean> {
    return this.#sealedDirectory.revokeDevice(spaceId, signingKey, at);
  }

  isRevokedDeviceToken(tokenHash: Uint8Array): Promise<boolean> {
    return this.#sealedDirectory.isRevokedDeviceToken(tokenHash);
  }

  getKeyBox(spaceId: SpaceId, signingKey: Uint8Array): Promise<Uint8Array | null> {
    return this.#sealedDirectory.getKeyBox(spaceId, signingKey);
  }

  sealPlaintextSpace(spaceId: SpaceId, seal: PlaintextSeal, at: number): Promise<SealResult> {
    return this.#conversion.seal(spaceId, seal, at);
  }

  appendEnvelope(spaceId: SpaceId, entry: SealedEntry): Promise<SealedAppendResult> {
    return this.#sealedLog.appendEnvelope(spaceId, entry);
  }

  loadEnvelopes(spaceId: SpaceId, since: number): Promise<SealedLoad> {
    return this.#sealedLog.loadEnvelopes(spaceId, since);
  }

  replaceWithSealedSnapshot(spaceId: SpaceId, snapshot: SealedSnapshot): Promise<SnapshotResult> {
    return this.#sealedLog.replaceWithSealedSnapshot(spaceId, snapshot);
  }

  // --- the document's update log -------------------------------------------------------------

  async loadDoc(spaceId: SpaceId): Promise<StoredDoc> {
    // One statement, so one consistent view: read as two queries, a compaction committing in
    // between could hand back the old snapshot without the updates it absorbed. Every remaining
    // update is returned, even one below the snapshot's seq (see replaceWithSnapshot): applying a
    // Yjs update twice is harmless, skipping one is not.
    const result = await this.#pool.query<{ kind: number; seq: string; data: Buffer }>(
      `SELECT 0 AS kind, up_to_seq AS seq, data FROM ${this.#t.snapshots} WHERE space_id = $1
       UNION ALL
       SELECT 1 AS kind, seq, data FROM ${this.#t.updates} WHERE space_id = $1
       ORDER BY kind, seq`,
      [spaceId],
    );
    let snapshot: Uint8Array | null = null;
    const updates: StoredDoc['updates'] = [];
    for (const row of result.rows) {
      if (row.kind === 0) snapshot = bytes(row.data);
      else updates.push({ seq: Number(row.seq), data: bytes(row.data) });
    }
    return { snapshot, updates };
  }

  async appendUpdate(spaceId: SpaceId, update: Uint8Array): Promise<number> {
    // One statement is one transaction: the space's lock is taken before the row (and its seq)
    // is made, and held until the commit. See the class comment for why. The space's row is
    // locked too (FOR SHARE) and must not be sealed: a conversion that committed while this
    // waited for the lock makes PostgreSQL re-read the row, so no plaintext is written after it.
    const result = await this.#pool.query<{ seq: string }>(
      `WITH locked AS (SELECT pg_advisory_xact_lock(hashtextextended($3, 0)))
       INSERT INTO ${this.#t.updates} (space_id, data)
       SELECT s.space_id, $2 FROM locked, ${this.#t.spaces} s
        WHERE s.space_id = $1 AND NOT s.sealed
        FOR SHARE OF s
       RETURNING seq`,
      [spaceId, update, this.#spaceLockKey(spaceId)],
    );
    const row = result.rows[0];
    if (!row) throw new Error(`space ${spaceId} does not exist or is sealed`);
    return Number(row.seq);
  }

  async replaceWithSnapshot(
    spaceId: SpaceId,
    snapshot: Uint8Array,
    upToSeq: number,
  ): Promise<void> {
    await inTransaction(this.#pool, async (q) => {
      await lockSpace(q, this.#spaceLockKey(spaceId));
      const space = await q<{ sealed: boolean }>(
        `SELECT sealed FROM ${this.#t.spaces} WHERE space_id = $1`,
        [spaceId],
      );
      // Converted meanwhile: its plaintext is gone and must stay gone.
      if (space.rows[0]?.sealed) return;
      const current = await q<{ up_to_seq: string }>(
        `SELECT up_to_seq FROM ${this.#t.snapshots} WHERE space_id = $1`,
        [spaceId],
      );
      const currentUpTo = current.rows[0] ? Number(current.rows[0].up_to_seq) : null;
      // Two nodes may compact the same space one after the other. The later-committing one may
      // have started from an older view; the updates the newer snapshot absorbed are already
      // deleted, so letting the older snapshot overwrite it would lose them.
      if (currentUpTo !== null && currentUpTo > upToSeq) return;
      await q(
        `INSERT INTO ${this.#t.snapshots} (space_id, data, up_to_seq) VALUES ($1, $2, $3)
         ON CONFLICT (space_id) DO UPDATE SET data = EXCLUDED.data, up_to_seq = EXCLUDED.up_to_seq`,
        [spaceId, snapshot, upToSeq],
      );
      await q(`DELETE FROM ${this.#t.updates} WHERE space_id = $1 AND seq <= $2`, [
        spaceId,
        upToSeq,
      ]);
    });
  }

  async getDocCheck(spaceId: SpaceId, partnerId: PartnerId): Promise<number | null> {
    const result = await this.#pool.query<{ schema_version: number }>(
      `SELECT c.schema_version FROM ${this.#t.docChecks} c
       JOIN ${this.#t.partners} p USING (partner_id)
       WHERE p.space_id = $1 AND p.partner_id = $2`,
      [spaceId, partnerId],
    );
    return result.rows[0]?.schema_version ?? null;
  }

  async recordDocCheck(
    spaceId: SpaceId,
    partnerId: PartnerId,
    schemaVersion: number,
  ): Promise<void> {
    await this.#pool.query(
      `INSERT INTO ${this.#t.docChecks} (partner_id, schema_version)
       SELECT partner_id, $3 FROM ${this.#t.partners} WHERE space_id = $1 AND partner_id = $2
       ON CONFLICT (partner_id) DO UPDATE SET schema_version = excluded.schema_version`,
      [spaceId, partnerId, schemaVersion],
    );
  }

  async deleteSpace(spaceId: SpaceId): Promise<void> {
    await inTransaction(this.#pool, async (q) => {
      await lockSpace(q, this.#spaceLockKey(spaceId));
      await q(`DELETE FROM ${this.#t.updates} WHERE space_id = $1`, [spaceId]);
      await q(`DELETE FROM ${this.#t.snapshots} WHERE space_id = $1`, [spaceId]);
      await this.#sealedLog.deleteSpace(q, spaceId);
      await q(`DELETE FROM ${this.#t.epochBoxes} WHERE space_id = $1`, [spaceId]);
      await q(`DELETE FROM ${this.#t.devices} WHERE space_id = $1`, [spaceId]);
      // Partners, device links, recovery challenges and failures go with their space (ON DELETE
      // CASCADE), tokens with them.
      await q(`DELETE FROM ${this.#t.spaces} WHERE space_id = $1`, [spaceId]);
    });
  }

  async storedBytes(spaceId: SpaceId): Promise<number> {
    const result = await this.#pool.query<{ bytes: string }>(
      `SELECT
         coalesce((SELECT sum(octet_length(data)) FROM ${this.#t.snapshots} WHERE space_id = $1), 0)
       + coalesce((SELECT sum(octet_length(data)) FROM ${this.#t.updates} WHERE space_id = $1), 0) AS bytes`,
      [spaceId],
    );
    return Number(result.rows[0]?.bytes ?? 0) + (await this.#sealedLog.storedBytes(spaceId));
  }

  async close(): Promise<void> {
    await this.#conversion.idle();
    await this.#pool.end();
  }

  // --- helpers --------------------------------------------------------------------------------

  #spaceLockKey(spaceId: SpaceId): string {
    return `mend:space:${this.#schema}:${spaceId}`;
  }

  async #insertPartner(q: Query, partner: NewPartner): Promise<void> {
    await q(
      `INSERT INTO ${this.#t.partners} (partner_id, space_id, display_name, token_hash, joined_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [
        partner.partnerId,
        partner.spaceId,
        partner.displayName,
        partner.tokenHash,
        partner.joinedAt,
      ],
    );
  }
}

interface SpaceRow {
  space_id: string;
  name: string | null;
  created_at: string;
  invite_hash: Buffer;
  invite_used_at: string | null;
  sealed: boolean;
  welcome: Buffer | null;
  welcome_taken_at: string | null;
}

interface PartnerRow {
  partner_id: string;
  space_id: string;
  display_name: string;
  token_hash: Buffer;
  joined_at: string;
}

function toSpace(row: SpaceRow): SpaceRecord {
  return {
    spaceId: row.space_id as SpaceId,
    name: row.name,
    createdAt: Number(row.created_at),
    inviteHash: bytes(row.invite_hash),
    inviteUsedAt: row.invite_used_at === null ? null : Number(row.invite_used_at),
    sealed: row.sealed,
    welcome: row.welcome ? bytes(row.welcome) : null,
    welcomeTakenAt: row.welcome_taken_at === null ? null : Number(row.welcome_taken_at),
  };
}

function toPartner(row: PartnerRow): PartnerRecord {
  return {
    partnerId: row.partner_id as PartnerId,
    spaceId: row.space_id as SpaceId,
    displayName: row.display_name,
    tokenHash: bytes(row.token_hash),
    joinedAt: Number(row.joined_at),
  };
}
