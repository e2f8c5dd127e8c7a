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
import { sameBytes } from './sealedChain.js';
import type { DeviceRecord } from './StorageAdapter.js';

/** What MemoryAdapter keeps of a sealed space that links read and change. */
export interface MemoryLinkSpace {
  readonly devices: DeviceRecord[];
  readonly revoked: ReadonlySet<unknown>;
  /** Which devices are recovery devices (MemoryDevices); others have no entry or `false`. */
  readonly deviceMeta: ReadonlyMap<DeviceRecord, { readonly recovery: boolean }>;
  /** The space's links; replaced element by element, never changed in place. */
  readonly links: StoredLink[];
}

/**
 * Device links in MemoryAdapter's maps. Each method runs without awaiting, so it is as atomic
 * as a transaction; bytes are copied in and out.
 */
export class MemoryDeviceLinks implements DeviceLinkStore {
  readonly #space: (spaceId: SpaceId) => MemoryLinkSpace | null;

  /** `space`: the sealed space's entry, or null for an unknown or plaintext one. */
  constructor(space: (spaceId: SpaceId) => MemoryLinkSpace | null) {
    this.#space = space;
  }

  async offerLink(link: NewLink): Promise<OfferOutcome> {
    const space = this.#space(link.spaceId);
    const at = link.createdAt;
    if (!space || !deviceOfSeat(space, link.partnerId, link.offeredBy)) {
      return OfferOutcome.notADevice;
    }
    const placed = placeOffer(link, otherSeat(space, link.partnerId));
    if (typeof placed === 'string') return placed;
    if (codeTaken(space.links, placed)) return OfferOutcome.codeTaken;
    const kept = space.links
      .filter((earlier) => isLive(earlier, at))
      .map((earlier) =>
        endsAtOffer(earlier, placed) ? { ...earlier, state: LinkState.ended, box: null } : earlier,
      );
    space.links.splice(0, space.links.length, ...kept, {
      linkId: link.linkId,
      spaceId: link.spaceId,
      partnerId: link.partnerId,
      targetPartnerId: placed.targetPartnerId,
      codeHash: copy(link.codeHash),
      createdAt: link.createdAt,
      expiresAt: link.expiresAt,
      state: LinkState.open,
      claimHash: null,
      signingKey: null,
      agreementKey: null,
      box: null,
      linkSeq: null,
      confirmedAt: null,
      collectedAt: null,
    });
    return OfferOutcome.offered;
  }

  async claimLink(spaceId: SpaceId, claim: LinkClaim, at: number): Promise<ClaimResult> {
    const space = this.#space(spaceId);
    const link = space ? byCode(space, claim.codeHash, at) : null;
    const taken =
      space !== null && space.devices.some((d) => sameBytes(d.signingKey, claim.signingKey));
    const step = claimStep(link, claim, at, taken);
    if (step.store && space && link) {
      replace(space, {
        ...link,
        state: LinkState.claimed,
        claimHash: copy(claim.claimHash),
        signingKey: copy(claim.signingKey),
        agreementKey: copy(claim.agreementKey),
      });
    }
    return step.result;
  }

  async readLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<LinkView | null> {
    const link = this.#space(spaceId)?.links.find((l) => l.linkId === linkId);
    if (!link || !isLive(link, at) || link.partnerId !== partnerId) return null;
    return {
      state: link.state,
      device:
        link.signingKey && link.agreementKey
          ? { signingKey: copy(link.signingKey), agreementKey: copy(link.agreementKey) }
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
    const space = this.#space(spaceId);
    const link = space?.links.find((l) => l.linkId === linkId) ?? null;
    const claimed = link?.signingKey ?? null;
    const step = confirmStep(link, by, confirmation, at, {
      deviceOk: space !== null && deviceOfSeat(space, by.partnerId, by.signingKey),
      keyTaken:
        claimed !== null && (space?.devices.some((d) => sameBytes(d.signingKey, claimed)) ?? false),
      targetHasDevice:
        space !== null && link !== null && hasCurrentDevice(space, link.targetPartnerId),
    });
    if (step.store && space && link?.signingKey && link.agreementKey) {
      space.devices.push({
        spaceId,
        partnerId: link.targetPartnerId,
        signingKey: copy(link.signingKey),
        agreementKey: copy(link.agreementKey),
        tokenHash: copy(confirmation.tokenHash),
        addedAt: at,
      });
      replace(space, {
        ...link,
        state: LinkState.confirmed,
        box: copy(confirmation.box),
        linkSeq: confirmation.linkSeq,
        confirmedAt: at,
        expiresAt: confirmation.expiresAt,
      });
    }
    return step.outcome;
  }

  async collectLink(
    spaceId: SpaceId,
    claim: LinkClaim,
    tokenHash: Uint8Array,
    at: number,
  ): Promise<CollectedLink | null> {
    const space = this.#space(spaceId);
    const link = space ? byCode(space, claim.codeHash, at) : null;
    if (!space || !collectable(link, claim, at) || !link?.box || link.linkSeq === null) return null;
    const device = space.devices.find(
      (d) => sameBytes(d.signingKey, claim.signingKey) && d.partnerId === link.targetPartnerId,
    );
    if (!device || space.revoked.has(device)) return null;
    device.tokenHash = copy(tokenHash);
    replace(space, { ...link, collectedAt: link.collectedAt ?? at });
    return {
      linkId: link.linkId,
      partnerId: link.targetPartnerId,
      box: copy(link.box),
      linkSeq: link.linkSeq,
    };
  }

  async endLink(
    spaceId: SpaceId,
    linkId: LinkId,
    partnerId: PartnerId,
    at: number,
  ): Promise<boolean> {
    const space = this.#space(spaceId);
    const link = space?.links.find((l) => l.linkId === linkId);
    if (!space || !link || !isLive(link, at) || link.partnerId !== partnerId) return false;
    replace(space, { ...link, state: LinkState.ended, box: null });
    return true;
  }
}

function deviceOfSeat(space: MemoryLinkSpace, partnerId: PartnerId, signingKey: Uint8Array) {
  return space.devices.some(
    (d) =>
      d.partnerId === partnerId && sameBytes(d.signingKey, signingKey) && !space.revoked.has(d),
  );
}

/** The seat of the space's first device of another seat than `partnerId`'s. */
function otherSeat(space: MemoryLinkSpace, partnerId: PartnerId): OtherSeat | null {
  const first = space.devices.find((d) => d.partnerId !== partnerId);
  return first
    ? { partnerId: first.partnerId, hasCurrentDevice: hasCurrentDevice(space, first.partnerId) }
    : null;
}

/** Whether the seat has a device that is not revoked, recovery devices aside. */
function hasCurrentDevice(space: MemoryLinkSpace, partnerId: PartnerId): boolean {
  return space.devices.some(
    (d) => d.partnerId === partnerId && !space.revoked.has(d) && !space.deviceMeta.get(d)?.recovery,
  );
}

function byCode(space: MemoryLinkSpace, codeHash: Uint8Array, at: number): StoredLink | null {
  return (
    space.links.find(
      (l) => l.state !== LinkState.ended && isLive(l, at) && sameBytes(l.codeHash, codeHash),
    ) ?? null
  );
}

function replace(space: MemoryLinkSpace, link: StoredLink): void {
  const index = space.links.findIndex((l) => l.linkId === link.linkId);
  space.links[index] = link;
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}
