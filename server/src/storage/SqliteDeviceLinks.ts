import type Database from 'better-sqlite3';
import { LinkState, type LinkId, type PartnerId, type SpaceId } from '@mend/protocol';
import {
  OfferOutcome,
  claimStep,
  codeTaken,
  collectable,
  confirmStep,
  endsAtOffer,
  isLive,
  placeOffer,
  type ClaimResult,
  type CollectedLink,
  type ConfirmOutcome,
  type DeviceLinkStore,
  type LinkClaim,
  type LinkConfirmation,
  type LinkSeat,
  type LinkView,
  type NewLink,
  type OtherSeat,
  type StoredLink,
} from './DeviceLinkStore.js';
import type { SqliteStatements } from './SqliteSealedLog.js';

interface LinkRow {
  link_id: string;
  space_id: string;
  partner_id: string;
  /** Never null once migrated (the column's migration filled older rows); read defensively. */
  target_partner_id: string | null;
  code_hash: Buffer;
  created_at: number;
  expires_at: number;
  state: LinkState;
  claim_hash: Buffer | null;
  signing_key: Buffer | null;
  agreement_key: Buffer | null;
  box: Buffer | null;
  link_seq: number | null;
  confirmed_at: number | null;
  collected_at: number | null;
}

/**
 * Device links in SQLite (table `device_links`; see sqliteMigrations.ts). Every operation is one
 * IMMEDIATE transaction: it holds the write lock from its first read, so two processes sharing
 * the file take turns, and the second sees what the first wrote.
 */
export class SqliteDeviceLinks implements DeviceLinkStore {
  readonly #db: Database.Database;
  readonly #sql: SqliteStatements;

  constructor(db: Database.Database, sql: SqliteStatements) {
    this.#db = db;
    this.#sql = sql;
  }

  async offerLink(link: NewLink): Promise<OfferOutcome> {
    return this.#db
      .transaction((): OfferOutcome => {
        const at = link.createdAt;
        if (!this.#isDeviceOfSeat(link.spaceId, link.partnerId, link.offeredBy)) {
          return OfferOutcome.notADevice;
        }
        const placed = placeOffer(link, this.#otherSeat(link.spaceId, link.partnerId));
        if (typeof placed === 'string') return placed;
        const links = (
          this.#sql('SELECT * FROM device_links WHERE space_id = ?').all(link.spaceId) as LinkRow[]
        ).map(toLink);
        if (codeTaken(links, placed)) return OfferOutcome.codeTaken;
        for (const earlier of links) {
          if (isLive(earlier, at) && endsAtOffer(earlier, placed)) this.#end(earlier.linkId);
        }
        this.#sql('DELETE FROM device_links WHERE space_id = ? AND expires_at <= ?').run(
          link.spaceId,
          at,
        );
        this.#sql(
          `INSERT INTO device_links
             (link_id, space_id, partner_id, target_partner_id, code_hash, created_at, expires_at,
              state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          link.linkId,
          link.spaceId,
          link.partnerId,
          placed.targetPartnerId,
          Buffer.from(link.codeHash),
          link.createdAt,
          link.expiresAt,
          LinkState.open,
        );
        return OfferOutcome.offered;
      })
      .immediate();
  }

  async claimLink(spaceId: SpaceId, claim: LinkClaim, at: number): Promise<ClaimResult> {
    return this.#db
      .transaction((): ClaimResult => {
        const link = this.#byCode(spaceId, claim.codeHash, at);
        const taken = link !== null && this.#isDeviceOfSpace(spaceId, claim.signingKey);
        const step = claimStep(link, claim, at, taken);
        if (step.store && link) {
          this.#sql(
            `UPDATE device_links SET state = ?, claim_hash = ?, signing_key = ?, agreement_key = ?
              WHERE link_id = ?`,
          ).run(
            LinkState.claimed,
            Buffer.from(claim.claimHash),
            Buffer.from(claim.signingKey),
            Buffer.from(claim.agreementKey),
            link.linkId,
          );
        }
        return step.result;
      })
      .immediate();
  }

  async readLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<LinkView | null> {
    const link = this.#byId(spaceId, linkId);
    if (!link || !isLive(link, at) || link.partnerId !== partnerId) return null;
    return {
      state: link.state,
      device:
        link.signingKey && link.agreementKey
          ? { signingKey: link.signingKey, agreementKey: link.agreementKey }
          : null,
    };
  }

  async confirmLink(
    spaceId: SpaceId,
    linkId: LinkId,
    by: LinkSeat,
    confirmation: LinkConfirmation,
    at: number,
  ): Promise<ConfirmOutcome> {
    return this.#db
      .transaction((): ConfirmOutcome => {
        const link = this.#byId(spaceId, linkId);
        const step = confirmStep(link, by, confirmation, at, {
          deviceOk: this.#isDeviceOfSeat(spaceId, by.partnerId, by.signingKey),
          keyTaken: link?.signingKey ? this.#isDeviceOfSpace(spaceId, link.signingKey) : false,
          targetHasDevice: link ? this.#hasCurrentDevice(spaceId, link.targetPartnerId) : false,
        });
        if (step.store && link?.signingKey && link.agreementKey) {
          this.#sql(
            `INSERT INTO devices (space_id, partner_id, signing_key, agreement_key, token_hash, added_at)
             VALUES (?, ?, ?, ?, ?, ?)`,
          ).run(
            spaceId,
            link.targetPartnerId,
            Buffer.from(link.signingKey),
            Buffer.from(link.agreementKey),
            Buffer.from(confirmation.tokenHash),
            at,
          );
          this.#sql(
            `UPDATE device_links SET state = ?, box = ?, link_seq = ?, confirmed_at = ?,
               expires_at = ?
             WHERE link_id = ?`,
          ).run(
            LinkState.confirmed,
            Buffer.from(confirmation.box),
            confirmation.linkSeq,
            at,
            confirmation.expiresAt,
            linkId,
          );
        }
        return step.outcome;
      })
      .immediate();
  }

  async collectLink(
    spaceId: SpaceId,
    claim: LinkClaim,
    tokenHash: Uint8Array,
    at: number,
  ): Promise<CollectedLink | null> {
    return this.#db
      .transaction((): CollectedLink | null => {
        const link = this.#byCode(spaceId, claim.codeHash, at);
        if (!collectable(link, claim, at) || !link?.box || link.linkSeq === null) return null;
        const renewed = this.#sql(
          `UPDATE devices SET token_hash = ?
            WHERE space_id = ? AND signing_key = ? AND partner_id = ? AND revoked_at IS NULL`,
        ).run(Buffer.from(tokenHash), spaceId, Buffer.from(claim.signingKey), link.targetPartnerId);
        if (renewed.changes !== 1) return null;
        this.#sql(
          'UPDATE device_links SET collected_at = COALESCE(collected_at, ?) WHERE link_id = ?',
        ).run(at, link.linkId);
        return {
          linkId: link.linkId,
          partnerId: link.targetPartnerId,
          box: link.box,
          linkSeq: link.linkSeq,
        };
      })
      .immediate();
  }

  async endLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<boolean> {
    return this.#db
      .transaction((): boolean => {
        const link = this.#byId(spaceId, linkId);
        if (!link || !isLive(link, at) || link.partnerId !== partnerId) return false;
        this.#end(linkId);
        return true;
      })
      .immediate();
  }

  /** Inside SqliteAdapter.deleteSpace's transaction. */
  deleteSpace(spaceId: SpaceId): void {
    this.#sql('DELETE FROM device_links WHERE space_id = ?').run(spaceId);
  }

  #end(linkId: LinkId): void {
    this.#sql('UPDATE device_links SET state = ?, box = NULL WHERE link_id = ?').run(
      LinkState.ended,
      linkId,
    );
  }

  #byId(spaceId: SpaceId, linkId: LinkId): StoredLink | null {
    const row = this.#sql('SELECT * FROM device_links WHERE link_id = ? AND space_id = ?').get(
      linkId,
      spaceId,
    ) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  /** The live link of the space that is not ended and has this code (offers keep it unique). */
  #byCode(spaceId: SpaceId, codeHash: Uint8Array, at: number): StoredLink | null {
    const row = this.#sql(
      `SELECT * FROM device_links
        WHERE space_id = ? AND code_hash = ? AND state <> ? AND expires_at > ?`,
    ).get(spaceId, Buffer.from(codeHash), LinkState.ended, at) as LinkRow | undefined;
    return row ? toLink(row) : null;
  }

  /** A device of that seat in that sealed space, not revoked. */
  #isDeviceOfSeat(spaceId: SpaceId, partnerId: PartnerId, signingKey: Uint8Array): boolean {
    const row = this.#sql(
      `SELECT 1 FROM devices d JOIN spaces s USING (space_id)
        WHERE d.space_id = ? AND d.partner_id = ? AND d.signing_key = ?
          AND d.revoked_at IS NULL AND s.sealed = 1`,
    ).get(spaceId, partnerId, Buffer.from(signingKey));
    return row !== undefined;
  }

  /** The seat of the space's first device of another seat than `partnerId`'s. */
  #otherSeat(spaceId: SpaceId, partnerId: PartnerId): OtherSeat | null {
    const row = this.#sql(
      `SELECT partner_id FROM devices WHERE space_id = ? AND partner_id <> ?
        ORDER BY added_at, rowid LIMIT 1`,
    ).get(spaceId, partnerId) as { partner_id: string } | undefined;
    if (!row) return null;
    const other = row.partner_id as PartnerId;
    return { partnerId: other, hasCurrentDevice: this.#hasCurrentDevice(spaceId, other) };
  }

  /** Whether the seat has a device that is not revoked, recovery devices aside. */
  #hasCurrentDevice(spaceId: SpaceId, partnerId: PartnerId): boolean {
    const row = this.#sql(
      `SELECT 1 FROM devices
        WHERE space_id = ? AND partner_id = ? AND revoked_at IS NULL AND recovery = 0`,
    ).get(spaceId, partnerId);
    return row !== undefined;
  }

  /** Any device of the space with this signing key, revoked ones included (their rows stay). */
  #isDeviceOfSpace(spaceId: SpaceId, signingKey: Uint8Array): boolean {
    const row = this.#sql('SELECT 1 FROM devices WHERE space_id = ? AND signing_key = ?').get(
      spaceId,
      Buffer.from(signingKey),
    );
    return row !== undefined;
  }
}

function plain(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer);
}

function toLink(row: LinkRow): StoredLink {
  return {
    linkId: row.link_id as LinkId,
    spaceId: row.space_id as SpaceId,
    partnerId: row.partner_id as PartnerId,
    targetPartnerId: (row.target_partner_id ?? row.partner_id) as PartnerId,
    codeHash: plain(row.code_hash),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    state: row.state,
    claimHash: row.claim_hash && plain(row.claim_hash),
    signingKey: row.signing_key && plain(row.signing_key),
    agreementKey: row.agreement_key && plain(row.agreement_key),
    box: row.box && plain(row.box),
    linkSeq: row.link_seq,
    confirmedAt: row.confirmed_at,
    collectedAt: row.collected_at,
  };
}
