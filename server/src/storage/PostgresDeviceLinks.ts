import { LinkState, type LinkId, type PartnerId, type SpaceId } from '@mend/protocol';
import type pg from 'pg';
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
import { bytes, inTransaction, lockSpace, type Query } from './postgresTransaction.js';

/** Schema-qualified, quoted table names (PostgresAdapter builds them once). */
export interface LinkTables {
  spaces: string;
  devices: string;
  links: string;
}

/**
 * Device links in PostgreSQL (table `device_links`; see postgresMigrations.ts). Every write takes
 * the space's links lock (a transaction-scoped advisory lock of its own, apart from the one
 * appends take), so two nodes' claims, confirmations and ends of one space take turns and each
 * reads what the one before committed. The acting device's row is read FOR SHARE: a revocation
 * committing meanwhile waits, or was seen.
 */
export class PostgresDeviceLinks implements DeviceLinkStore {
  readonly #pool: pg.Pool;
  readonly #t: LinkTables;
  readonly #lockKey: (spaceId: SpaceId) => string;

  constructor(pool: pg.Pool, tables: LinkTables, lockKey: (spaceId: SpaceId) => string) {
    this.#pool = pool;
    this.#t = tables;
    this.#lockKey = lockKey;
  }

  offerLink(link: NewLink): Promise<OfferOutcome> {
    return this.#locked(link.spaceId, async (q) => {
      const at = link.createdAt;
      if (!(await this.#isDeviceOfSeat(q, link.spaceId, link.partnerId, link.offeredBy))) {
        return OfferOutcome.notADevice;
      }
      const placed = placeOffer(link, await this.#otherSeat(q, link.spaceId, link.partnerId));
      if (typeof placed === 'string') return placed;
      const rows = await q<LinkRow>(`SELECT * FROM ${this.#t.links} WHERE space_id = $1`, [
        link.spaceId,
      ]);
      const links = rows.rows.map(toLink);
      if (codeTaken(links, placed)) return OfferOutcome.codeTaken;
      const ended = links
        .filter((earlier) => isLive(earlier, at) && endsAtOffer(earlier, placed))
        .map((earlier) => earlier.linkId);
      if (ended.length > 0) {
        await q(
          `UPDATE ${this.#t.links} SET state = $2, box = NULL WHERE link_id = ANY($1::text[])`,
          [ended, LinkState.ended],
        );
      }
      await q(`DELETE FROM ${this.#t.links} WHERE space_id = $1 AND expires_at <= $2`, [
        link.spaceId,
        at,
      ]);
      await q(
        `INSERT INTO ${this.#t.links}
           (link_id, space_id, partner_id, code_hash, created_at, expires_at, state,
            target_partner_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          link.linkId,
          link.spaceId,
          link.partnerId,
          link.codeHash,
          link.createdAt,
          link.expiresAt,
          LinkState.open,
          placed.targetPartnerId,
        ],
      );
      return OfferOutcome.offered;
    });
  }

  claimLink(spaceId: SpaceId, claim: LinkClaim, at: number): Promise<ClaimResult> {
    return this.#locked(spaceId, async (q) => {
      const link = await this.#byCode(q, spaceId, claim.codeHash, at);
      const taken = link !== null && (await this.#isDeviceOfSpace(q, spaceId, claim.signingKey));
      const step = claimStep(link, claim, at, taken);
      if (step.store && link) {
        await q(
          `UPDATE ${this.#t.links}
              SET state = $2, claim_hash = $3, signing_key = $4, agreement_key = $5
            WHERE link_id = $1`,
          [link.linkId, LinkState.claimed, claim.claimHash, claim.signingKey, claim.agreementKey],
        );
      }
      return step.result;
    });
  }

  async readLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<LinkView | null> {
    const link = await this.#byId(this.#read, spaceId, linkId);
    if (!link || !isLive(link, at) || link.partnerId !== partnerId) return null;
    return {
      state: link.state,
      device:
        link.signingKey && link.agreementKey
          ? { signingKey: link.signingKey, agreementKey: link.agreementKey }
          : null,
    };
  }

  confirmLink(
    spaceId: SpaceId,
    linkId: LinkId,
    by: LinkSeat,
    confirmation: LinkConfirmation,
    at: number,
  ): Promise<ConfirmOutcome> {
    return this.#locked(spaceId, async (q) => {
      const deviceOk = await this.#isDeviceOfSeat(q, spaceId, by.partnerId, by.signingKey);
      const link = await this.#byId(q, spaceId, linkId);
      const keyTaken = link?.signingKey
        ? await this.#isDeviceOfSpace(q, spaceId, link.signingKey)
        : false;
      const targetHasDevice = link
        ? await this.#hasCurrentDevice(q, spaceId, link.targetPartnerId)
        : false;
      const step = confirmStep(link, by, confirmation, at, { deviceOk, keyTaken, targetHasDevice });
      if (step.store && link?.signingKey && link.agreementKey) {
        await q(
          `INSERT INTO ${this.#t.devices}
             (space_id, partner_id, signing_key, agreement_key, token_hash, added_at)
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            spaceId,
            link.targetPartnerId,
            link.signingKey,
            link.agreementKey,
            confirmation.tokenHash,
            at,
          ],
        );
        await q(
          `UPDATE ${this.#t.links}
              SET state = $2, box = $3, link_seq = $4, confirmed_at = $5, expires_at = $6
            WHERE link_id = $1`,
          [
            linkId,
            LinkState.confirmed,
            confirmation.box,
            confirmation.linkSeq,
            at,
            confirmation.expiresAt,
          ],
        );
      }
      return step.outcome;
    });
  }

  collectLink(
    spaceId: SpaceId,
    claim: LinkClaim,
    tokenHash: Uint8Array,
    at: number,
  ): Promise<CollectedLink | null> {
    return this.#locked(spaceId, async (q) => {
      const link = await this.#byCode(q, spaceId, claim.codeHash, at);
      if (!collectable(link, claim, at) || !link?.box || link.linkSeq === null) return null;
      const renewed = await q(
        `UPDATE ${this.#t.devices} SET token_hash = $4
          WHERE space_id = $1 AND signing_key = $2 AND partner_id = $3 AND revoked_at IS NULL`,
        [spaceId, claim.signingKey, link.targetPartnerId, tokenHash],
      );
      if (renewed.rowCount !== 1) return null;
      await q(
        `UPDATE ${this.#t.links} SET collected_at = coalesce(collected_at, $2) WHERE link_id = $1`,
        [link.linkId, at],
      );
      return {
        linkId: link.linkId,
        partnerId: link.targetPartnerId,
        box: link.box,
        linkSeq: link.linkSeq,
      };
    });
  }

  endLink(spaceId: SpaceId, linkId: LinkId, partnerId: PartnerId, at: number): Promise<boolean> {
    return this.#locked(spaceId, async (q) => {
      const link = await this.#byId(q, spaceId, linkId);
      if (!link || !isLive(link, at) || link.partnerId !== partnerId) return false;
      await q(`UPDATE ${this.#t.links} SET state = $2, box = NULL WHERE link_id = $1`, [
        linkId,
        LinkState.ended,
      ]);
      return true;
    });
  }

  /** A query outside any transaction, for a read of one row. */
  readonly #read: Query = (text, values) => this.#pool.query(text, values);

  #locked<T>(spaceId: SpaceId, work: (q: Query) => Promise<T>): Promise<T> {
    return inTransaction(this.#pool, async (q) => {
      await lockSpace(q, this.#lockKey(spaceId));
      return work(q);
    });
  }

  async #byId(q: Query, spaceId: SpaceId, linkId: LinkId): Promise<StoredLink | null> {
    const result = await q<LinkRow>(
      `SELECT * FROM ${this.#t.links} WHERE link_id = $1 AND space_id = $2`,
      [linkId, spaceId],
    );
    const row = result.rows[0];
    return row ? toLink(row) : null;
  }

  /** The live link of the space that is not ended and has this code (offers keep it unique). */
  async #byCode(
    q: Query,
    spaceId: SpaceId,
    codeHash: Uint8Array,
    at: number,
  ): Promise<StoredLink | null> {
    const result = await q<LinkRow>(
      `SELECT * FROM ${this.#t.links}
        WHERE space_id = $1 AND code_hash = $2 AND state <> $3 AND expires_at > $4`,
      [spaceId, codeHash, LinkState.ended, at],
    );
    const row = result.rows[0];
    return row ? toLink(row) : null;
  }

  /** A device of that seat in that sealed space, not revoked; its row held until the commit. */
  async #isDeviceOfSeat(
    q: Query,
    spaceId: SpaceId,
    partnerId: PartnerId,
    signingKey: Uint8Array,
  ): Promise<boolean> {
    const result = await q(
      `SELECT 1 FROM ${this.#t.devices} d JOIN ${this.#t.spaces} s USING (space_id)
        WHERE d.space_id = $1 AND d.partner_id = $2 AND d.signing_key = $3
          AND d.revoked_at IS NULL AND s.sealed
        FOR SHARE OF d`,
      [spaceId, partnerId, signingKey],
    );
    return result.rowCount === 1;
  }

  /** The seat of the space's first device of another seat than `partnerId`'s. */
  async #otherSeat(q: Query, spaceId: SpaceId, partnerId: PartnerId): Promise<OtherSeat | null> {
    const result = await q<{ partner_id: string }>(
      `SELECT partner_id FROM ${this.#t.devices} WHERE space_id = $1 AND partner_id <> $2
        ORDER BY added_at, signing_key LIMIT 1`,
      [spaceId, partnerId],
    );
    const row = result.rows[0];
    if (!row) return null;
    const other = row.partner_id as PartnerId;
    return { partnerId: other, hasCurrentDevice: await this.#hasCurrentDevice(q, spaceId, other) };
  }

  /**
   * Whether the seat has a device that is not revoked, recovery devices aside. Read under the
   * links lock: the only way a seat without a current device gets one is a confirmation, which
   * takes the same lock.
   */
  async #hasCurrentDevice(q: Query, spaceId: SpaceId, partnerId: PartnerId): Promise<boolean> {
    const result = await q(
      `SELECT 1 FROM ${this.#t.devices}
        WHERE space_id = $1 AND partner_id = $2 AND revoked_at IS NULL AND NOT recovery
        LIMIT 1`,
      [spaceId, partnerId],
    );
    return result.rowCount === 1;
  }

  /** Any device of the space with this signing key, revoked ones included (their rows stay). */
  async #isDeviceOfSpace(q: Query, spaceId: SpaceId, signingKey: Uint8Array): Promise<boolean> {
    const result = await q(
      `SELECT 1 FROM ${this.#t.devices} WHERE space_id = $1 AND signing_key = $2`,
      [spaceId, signingKey],
    );
    return result.rowCount === 1;
  }
}

interface LinkRow {
  link_id: string;
  space_id: string;
  partner_id: string;
  target_partner_id: string;
  code_hash: Buffer;
  created_at: string;
  expires_at: string;
  state: LinkState;
  claim_hash: Buffer | null;
  signing_key: Buffer | null;
  agreement_key: Buffer | null;
  box: Buffer | null;
  link_seq: string | null;
  confirmed_at: string | null;
  collected_at: string | null;
}

const optionalNumber = (value: string | null): number | null =>
  value === null ? null : Number(value);

function toLink(row: LinkRow): StoredLink {
  return {
    linkId: row.link_id as LinkId,
    spaceId: row.space_id as SpaceId,
    partnerId: row.partner_id as PartnerId,
    targetPartnerId: row.target_partner_id as PartnerId,
    codeHash: bytes(row.code_hash),
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    state: row.state,
    claimHash: row.claim_hash && bytes(row.claim_hash),
    signingKey: row.signing_key && bytes(row.signing_key),
    agreementKey: row.agreement_key && bytes(row.agreement_key),
    box: row.box && bytes(row.box),
    linkSeq: optionalNumber(row.link_seq),
    confirmedAt: optionalNumber(row.confirmed_at),
    collectedAt: optionalNumber(row.collected_at),
  };
}
