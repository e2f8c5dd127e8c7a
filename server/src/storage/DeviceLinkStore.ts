import { LinkState, type LinkId, type PartnerId, type SpaceId } from '@mend/protocol';
import { sameBytes } from './sealedChain.js';

/**
 * Device links of sealed spaces (docs/protocol.md, "Linking a device"): a device of a seat offers
 * a link, a new device claims it, the seat confirms it (the new device joins the seat), and the
 * new device collects its token and the link box. Every adapter passes the same contract suite
 * (`deviceLinkContract.testkit.ts`); the decisions are written once, below (`claimStep`,
 * `confirmStep`, `collectable`, `codeTaken`), and each adapter reads, decides and writes inside
 * one transaction, so two server processes never both win a claim.
 *
 * Times are the caller's (`at`). A link whose `expiresAt` is at or before `at` finds nothing in
 * every operation: 15 minutes after the offer, and from its confirmation on, the end of the
 * window in which the new device may collect. Only SHA-256 hashes of the link and claim codes
 * are kept; the box is ciphertext the server cannot open.
 */
export interface DeviceLinkStore {
  /**
   * Stores a new open link of `link.partnerId`'s seat, offered by the device whose signing key is
   * `link.offeredBy`, for a device of that seat or, for a return link (`link.target` partner,
   * docs/protocol.md "Returning to a seat"), of the other seat; and in the same transaction ends
   * the seat's earlier open or claimed links of the same kind (a seat has at most one of each)
   * and deletes the space's expired ones. Refused, changing nothing, when the offering device is
   * not a device of that seat in that sealed space or was revoked (`notADevice`); for a return
   * link, when the space has no other seat (`noOtherSeat`) or that seat has a current device,
   * recovery devices aside (`seatTaken`); or when a live link of the space that this offer would
   * not end has the same code (`codeTaken`).
   */
  offerLink(link: NewLink): Promise<OfferOutcome>;
  /**
   * The claim of a new device (docs/protocol.md, step 2), by the link code's hash: the first claim
   * of an open link is stored on it; the same claim again (same claim code hash and keys)
   * answers the same; a different one is refused (`taken`); a claim with the signing key of a
   * device already in the space is refused (`deviceTaken`). Once the link is confirmed, the same
   * claim answers `confirmed`: the device should collect. An unknown, expired or ended link:
   * `notFound`. Two claims at once: one wins.
   */
  claimLink(spaceId: SpaceId, claim: LinkClaim, at: number): Promise<ClaimResult>;
  /** A live link of `partnerId`'s seat (ended ones too, until they expire), or null. */
  readLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<LinkView | null>;
  /**
   * The seat confirms a claimed link (step 4): in one transaction, the claimed device is added to
   * the link's target seat (the other seat for a return link) with `confirmation.tokenHash` (a token nobody holds until the device collects), the
   * box and linkSeq are kept on the link, and its expiry becomes `confirmation.expiresAt`. The
   * same confirmation again (same box and linkSeq) answers `confirmed` and changes nothing.
   * Refused, changing nothing: `notADevice` when the confirming device is not a device of the
   * seat or was revoked; `notFound` for a link of another seat, expired or ended; `notClaimed`
   * for one nobody claimed yet; `confirmedOtherwise` for one confirmed with another box or seq;
   * `deviceTaken` when the claimed signing key is a device of the space already; `seatTaken`
   * when a return link's seat got a current device (recovery devices aside) meanwhile.
   */
  confirmLink(
    spaceId: SpaceId,
    linkId: LinkId,
    by: LinkSeat,
    confirmation: LinkConfirmation,
    at: number,
  ): Promise<ConfirmOutcome>;
  /**
   * The claim sent again once the link is confirmed (step 5): the linked device's token hash
   * becomes `tokenHash` (the token of an earlier, lost answer stops working), the first
   * collection time is kept, and the box comes back. Null, changing nothing, for anything but
   * the same claim of a live confirmed link whose device was not revoked.
   */
  collectLink(
    spaceId: SpaceId,
    claim: LinkClaim,
    tokenHash: Uint8Array,
    at: number,
  ): Promise<CollectedLink | null>;
  /**
   * Ends a live link of `partnerId`'s seat in whatever state it is, and deletes its box: no claim
   * or collection finds it any more. A device it already added stays. True also for a link
   * ended before; false for one of another seat, unknown or expired.
   */
  endLink(spaceId: SpaceId, linkId: LinkId, partnerId: PartnerId, at: number): Promise<boolean>;
}

/**
 * Whose seat a link adds a device to: the offering device's own, or the other partner's (a
 * return link, docs/protocol.md "Returning to a seat").
 */
export const LinkTarget = { own: 'own', partner: 'partner' } as const;
export type LinkTarget = (typeof LinkTarget)[keyof typeof LinkTarget];

export interface NewLink {
  readonly linkId: LinkId;
  readonly spaceId: SpaceId;
  /** The seat the link belongs to (status, confirm, end): the offering device's partner. */
  readonly partnerId: PartnerId;
  /** Which seat the link adds a device to; storage finds the other seat's id itself. */
  readonly target: LinkTarget;
  /** The offering device's signing key. */
  readonly offeredBy: Uint8Array;
  /** SHA-256 of the link code. */
  readonly codeHash: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A new device's claim of a link, as storage compares it. */
export interface LinkClaim {
  /** SHA-256 of the link code: which link. */
  readonly codeHash: Uint8Array;
  /** SHA-256 of the claim code the new device chose: whose claim. */
  readonly claimHash: Uint8Array;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
}

/** The device of a seat acting on its link. */
export interface LinkSeat {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
}

export interface LinkConfirmation {
  /** The link box, sealed to the claimed device's agreement key. */
  readonly box: Uint8Array;
  /** The seq of the link statement in the space's log. */
  readonly linkSeq: number;
  /** SHA-256 of a token nobody holds: the new device's until it collects. */
  readonly tokenHash: Uint8Array;
  /** The end of the collection window; the link's new expiry. */
  readonly expiresAt: number;
}

export const OfferOutcome = {
  offered: 'offered',
  notADevice: 'not-a-device',
  noOtherSeat: 'no-other-seat',
  seatTaken: 'seat-taken',
  codeTaken: 'code-taken',
} as const;
export type OfferOutcome = (typeof OfferOutcome)[keyof typeof OfferOutcome];

export const ClaimOutcome = {
  claimed: 'claimed',
  confirmed: 'confirmed',
  notFound: 'not-found',
  taken: 'taken',
  deviceTaken: 'device-taken',
} as const;
export type ClaimOutcome = (typeof ClaimOutcome)[keyof typeof ClaimOutcome];

export type ClaimResult =
  | {
      readonly outcome: typeof ClaimOutcome.claimed | typeof ClaimOutcome.confirmed;
      linkId: LinkId;
    }
  | {
      readonly outcome:
        typeof ClaimOutcome.notFound | typeof ClaimOutcome.taken | typeof ClaimOutcome.deviceTaken;
    };

export const ConfirmOutcome = {
  confirmed: 'confirmed',
  notADevice: 'not-a-device',
  notFound: 'not-found',
  notClaimed: 'not-claimed',
  confirmedOtherwise: 'confirmed-otherwise',
  deviceTaken: 'device-taken',
  seatTaken: 'seat-taken',
} as const;
export type ConfirmOutcome = (typeof ConfirmOutcome)[keyof typeof ConfirmOutcome];

/** What the seat's devices may see of a link. */
export interface LinkView {
  readonly state: LinkState;
  /** The claiming device's public keys, once claimed. */
  readonly device: { readonly signingKey: Uint8Array; readonly agreementKey: Uint8Array } | null;
}

export interface CollectedLink {
  readonly linkId: LinkId;
  /** The seat the collecting device joined: the link's target seat. */
  readonly partnerId: PartnerId;
  readonly box: Uint8Array;
  readonly linkSeq: number;
}

/** A link as every adapter reads it from its row. */
export interface StoredLink {
  readonly linkId: LinkId;
  readonly spaceId: SpaceId;
  /** The offering seat, whose link it is. */
  readonly partnerId: PartnerId;
  /** The seat the link adds a device to: `partnerId`, or the other seat for a return link. */
  readonly targetPartnerId: PartnerId;
  readonly codeHash: Uint8Array;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly state: LinkState;
  readonly claimHash: Uint8Array | null;
  readonly signingKey: Uint8Array | null;
  readonly agreementKey: Uint8Array | null;
  readonly box: Uint8Array | null;
  readonly linkSeq: number | null;
  readonly confirmedAt: number | null;
  readonly collectedAt: number | null;
}

/** Whether a link still counts at `at`. */
export function isLive(link: StoredLink, at: number): boolean {
  return link.expiresAt > at;
}

/** An offer whose target seat storage found: the link it stores. */
export interface PlacedOffer extends NewLink {
  readonly targetPartnerId: PartnerId;
}

/**
 * The space's other seat as an offer reads it: its id (the seat of its first device) and
 * whether it has a current device, recovery devices aside. Null: no device of another seat.
 */
export interface OtherSeat {
  readonly partnerId: PartnerId;
  readonly hasCurrentDevice: boolean;
}

/**
 * Where an offer's link adds a device (its own seat, or for a return link the other seat once it
 * has no current device), or why a return link is refused.
 */
export function placeOffer(
  offer: NewLink,
  other: OtherSeat | null,
): PlacedOffer | typeof OfferOutcome.noOtherSeat | typeof OfferOutcome.seatTaken {
  if (offer.target === LinkTarget.own) return { ...offer, targetPartnerId: offer.partnerId };
  if (!other) return OfferOutcome.noOtherSeat;
  if (other.hasCurrentDevice) return OfferOutcome.seatTaken;
  return { ...offer, targetPartnerId: other.partnerId };
}

/** Whether an offer of `offer` must be refused: a live link it would not end has its code. */
export function codeTaken(links: readonly StoredLink[], offer: PlacedOffer): boolean {
  return links.some(
    (link) =>
      isLive(link, offer.createdAt) &&
      link.state !== LinkState.ended &&
      !endsAtOffer(link, offer) &&
      sameBytes(link.codeHash, offer.codeHash),
  );
}

/**
 * Whether a new offer of the seat ends `link`: the seat's link of the same kind (own or return)
 * that is open or claimed.
 */
export function endsAtOffer(link: StoredLink, offer: PlacedOffer): boolean {
  return (
    link.partnerId === offer.partnerId &&
    isReturnLink(link) === isReturnLink(offer) &&
    (link.state === LinkState.open || link.state === LinkState.claimed)
  );
}

/** Whether a link adds a device to the other partner's seat. */
export function isReturnLink(link: Pick<StoredLink, 'partnerId' | 'targetPartnerId'>): boolean {
  return link.targetPartnerId !== link.partnerId;
}

/**
 * What a claim does to the link its code found (the live, not ended one of the space, or null):
 * `store` when the claim is to be written onto it. `deviceTaken`: the claim's signing key is a
 * device of the space already.
 */
export function claimStep(
  link: StoredLink | null,
  claim: LinkClaim,
  at: number,
  deviceTaken: boolean,
): { result: ClaimResult; store: boolean } {
  if (!link || !isLive(link, at) || link.state === LinkState.ended) {
    return { result: { outcome: ClaimOutcome.notFound }, store: false };
  }
  const { linkId } = link;
  switch (link.state) {
    case LinkState.open:
      return deviceTaken
        ? { result: { outcome: ClaimOutcome.deviceTaken }, store: false }
        : { result: { outcome: ClaimOutcome.claimed, linkId }, store: true };
    case LinkState.claimed:
    case LinkState.confirmed: {
      if (!sameClaim(link, claim)) return { result: { outcome: ClaimOutcome.taken }, store: false };
      const outcome =
        link.state === LinkState.claimed ? ClaimOutcome.claimed : ClaimOutcome.confirmed;
      return { result: { outcome, linkId }, store: false };
    }
  }
}

/**
 * What a confirmation does to the link (null: no such link in the space): `store` when the
 * device is to be added and the box kept. `deviceOk`: the confirming device is a device of its
 * seat, not revoked. `keyTaken`: the claimed signing key is a device of the space already.
 * `targetHasDevice`: the link's target seat has a current device, recovery devices aside (it
 * refuses a return link only).
 */
export function confirmStep(
  link: StoredLink | null,
  by: LinkSeat,
  confirmation: LinkConfirmation,
  at: number,
  checks: { deviceOk: boolean; keyTaken: boolean; targetHasDevice: boolean },
): { outcome: ConfirmOutcome; store: boolean } {
  const refuse = (outcome: ConfirmOutcome) => ({ outcome, store: false });
  if (!checks.deviceOk) return refuse(ConfirmOutcome.notADevice);
  if (!link || !isLive(link, at) || link.partnerId !== by.partnerId) {
    return refuse(ConfirmOutcome.notFound);
  }
  switch (link.state) {
    case LinkState.ended:
      return refuse(ConfirmOutcome.notFound);
    case LinkState.open:
      return refuse(ConfirmOutcome.notClaimed);
    case LinkState.confirmed: {
      const same =
        link.box !== null &&
        sameBytes(link.box, confirmation.box) &&
        link.linkSeq === confirmation.linkSeq;
      return same
        ? { outcome: ConfirmOutcome.confirmed, store: false }
        : refuse(ConfirmOutcome.confirmedOtherwise);
    }
    case LinkState.claimed:
      if (checks.keyTaken) return refuse(ConfirmOutcome.deviceTaken);
      if (isReturnLink(link) && checks.targetHasDevice) return refuse(ConfirmOutcome.seatTaken);
      return { outcome: ConfirmOutcome.confirmed, store: true };
  }
}

/** Whether `claim` may collect `link` at `at` (its device's revocation is checked apart). */
export function collectable(link: StoredLink | null, claim: LinkClaim, at: number): boolean {
  return (
    link !== null &&
    isLive(link, at) &&
    link.state === LinkState.confirmed &&
    link.box !== null &&
    link.linkSeq !== null &&
    sameClaim(link, claim)
  );
}

/** The same claim: claim code and both keys, as first stored. */
function sameClaim(link: StoredLink, claim: LinkClaim): boolean {
  return (
    link.claimHash !== null &&
    link.signingKey !== null &&
    link.agreementKey !== null &&
    sameBytes(link.claimHash, claim.claimHash) &&
    sameBytes(link.signingKey, claim.signingKey) &&
    sameBytes(link.agreementKey, claim.agreementKey)
  );
}
