import {
  encodeBase64Url,
  isLinkId,
  type ClaimLinkRequest,
  type ConfirmLinkRequest,
  type LinkClaimedResponse,
  type LinkCollectedResponse,
  type LinkId,
  type LinkStatusResponse,
  type OfferLinkResponse,
  type SpaceId,
} from '@mend/protocol';
import { hashSecret, newLinkId, newToken } from '../http/credentials.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import {
  ClaimOutcome,
  ConfirmOutcome,
  OfferOutcome,
  type DeviceLinkStore,
  type LinkClaim,
  type LinkTarget,
} from '../storage/DeviceLinkStore.js';
import type { DeviceRecord, SpaceDirectory, SpaceRecord } from '../storage/StorageAdapter.js';
import { SpaceError, SpaceErrorReason } from './SpaceError.js';

/** How long an offered link can be claimed and confirmed (docs/protocol.md, step 1). */
export const LINK_LIFETIME_MS = 15 * 60_000;
/** How long after the confirmation the new device can collect, again if an answer was lost. */
export const LINK_COLLECT_MS = 10 * 60_000;

export interface DeviceLinksDeps {
  links: DeviceLinkStore;
  directory: Pick<SpaceDirectory, 'listDevices'>;
  log: Logger;
  metrics: Pick<Metrics, 'deviceLinks'>;
  /** The clock links expire by (tests move it). */
  now: () => number;
}

/** A claim's answer: 202 while the seat has not confirmed, 201 with the token once it has. */
export type ClaimAnswer =
  | { readonly collected: false; readonly answer: LinkClaimedResponse }
  | { readonly collected: true; readonly answer: LinkCollectedResponse };

type LinkEvent = 'offered' | 'claimed' | 'confirmed' | 'collected' | 'ended' | 'refused';

/**
 * Linking a device to its partner's seat (docs/protocol.md, "Linking a device"): a device of the
 * seat offers, a new device claims, the seat confirms with the link box, the new device collects
 * its token and the box. The server never sees the link secret, so it cannot confirm a device
 * of its own: it only carries hashes of the codes, the new device's public keys and the box.
 * Refusals are SpaceErrors; the HTTP edge words them as statuses. Log lines carry the space and
 * link ids, never a code, key, box or token.
 */
export class DeviceLinks {
  readonly #deps: DeviceLinksDeps;

  constructor(deps: DeviceLinksDeps) {
    this.#deps = deps;
  }

  /**
   * `device` offers a link to its seat, or for `seat: partner` a return link to the other
   * partner's seat (docs/protocol.md, "Returning to a seat"); the seat's earlier open link of the
   * same kind ends.
   */
  async offer(
    device: DeviceRecord,
    input: { linkCode: string; seat: LinkTarget },
  ): Promise<OfferLinkResponse> {
    const { links, now } = this.#deps;
    const { spaceId } = device;
    const linkId = newLinkId();
    const createdAt = now();
    const outcome = await links.offerLink({
      linkId,
      spaceId,
      partnerId: device.partnerId,
      target: input.seat,
      offeredBy: device.signingKey,
      codeHash: hashSecret(input.linkCode),
      createdAt,
      expiresAt: createdAt + LINK_LIFETIME_MS,
    });
    switch (outcome) {
      case OfferOutcome.offered:
        this.#record('offered', spaceId, linkId);
        return { linkId };
      case OfferOutcome.notADevice:
        throw this.#refused(spaceId, outcome, revoked());
      case OfferOutcome.noOtherSeat:
        throw this.#refused(
          spaceId,
          outcome,
          new SpaceError(
            SpaceErrorReason.seatTaken,
            'Your partner has not joined this space yet, so there is no seat to bring them back to.',
          ),
        );
      case OfferOutcome.seatTaken:
        throw this.#refused(spaceId, outcome, partnerStillThere());
      case OfferOutcome.codeTaken:
        throw this.#refused(
          spaceId,
          outcome,
          new SpaceError(
            SpaceErrorReason.linkTaken,
            'This link is in use already. Please make a new one.',
          ),
        );
    }
  }

  /**
   * A new device's claim (no credentials): stored the first time, the same answer when sent
   * again, and once the seat confirmed, the collection: a new token for the device, the box and
   * the creating device's keys.
   */
  async claim(space: SpaceRecord, input: ClaimLinkRequest): Promise<ClaimAnswer> {
    const { links, now } = this.#deps;
    const { spaceId } = space;
    const claim: LinkClaim = {
      codeHash: hashSecret(input.linkCode),
      claimHash: hashSecret(input.claimCode),
      signingKey: input.signingKey,
      agreementKey: input.agreementKey,
    };
    const result = await links.claimLink(spaceId, claim, now());
    switch (result.outcome) {
      case ClaimOutcome.claimed:
        this.#record('claimed', spaceId, result.linkId);
        return { collected: false, answer: { linkId: result.linkId, state: 'claimed' } };
      case ClaimOutcome.confirmed:
        return { collected: true, answer: await this.#collect(spaceId, claim) };
      case ClaimOutcome.notFound:
        throw this.#refused(spaceId, result.outcome, linkGone('new device'));
      case ClaimOutcome.taken:
        throw this.#refused(
          spaceId,
          result.outcome,
          new SpaceError(
            SpaceErrorReason.linkTaken,
            'This link has already been opened on another device. Please make a new one on your other device.',
          ),
        );
      case ClaimOutcome.deviceTaken:
        throw this.#refused(
          spaceId,
          result.outcome,
          new SpaceError(
            SpaceErrorReason.deviceTaken,
            'This device is already part of this space. Please open the space from your list.',
          ),
        );
    }
  }

  /** Where a link of `device`'s seat stands, and the claiming device's keys once claimed. */
  async status(device: DeviceRecord, rawLinkId: string): Promise<LinkStatusResponse> {
    const { links, now } = this.#deps;
    const linkId = linkIdOrGone(rawLinkId);
    const view = await links.readLink(device.spaceId, linkId, device.partnerId, now());
    if (!view) throw linkGone();
    return view.device
      ? {
          state: view.state,
          device: {
            signingKey: encodeBase64Url(view.device.signingKey),
            agreementKey: encodeBase64Url(view.device.agreementKey),
          },
        }
      : { state: view.state };
  }

  /** `device` confirms its seat's claimed link: the claimed device joins the seat. */
  async confirm(device: DeviceRecord, rawLinkId: string, input: ConfirmLinkRequest): Promise<void> {
    const { links, now } = this.#deps;
    const { spaceId } = device;
    const linkId = linkIdOrGone(rawLinkId);
    const at = now();
    const outcome = await links.confirmLink(
      spaceId,
      linkId,
      { partnerId: device.partnerId, signingKey: device.signingKey },
      {
        box: input.box,
        linkSeq: input.linkSeq,
        // Nobody holds this token: the new device gets its own when it collects.
        tokenHash: hashSecret(newToken()),
        expiresAt: at + LINK_COLLECT_MS,
      },
      at,
    );
    const taken = (message: string) => new SpaceError(SpaceErrorReason.linkTaken, message);
    switch (outcome) {
      case ConfirmOutcome.confirmed:
        this.#record('confirmed', spaceId, linkId, { boxBytes: input.box.byteLength });
        return;
      case ConfirmOutcome.notFound:
        throw this.#refused(spaceId, outcome, linkGone());
      case ConfirmOutcome.notADevice:
        throw this.#refused(spaceId, outcome, revoked());
      case ConfirmOutcome.notClaimed:
        throw this.#refused(
          spaceId,
          outcome,
          taken(
            'No device has opened this link yet. Please wait until the new device shows a number.',
          ),
        );
      case ConfirmOutcome.confirmedOtherwise:
        throw this.#refused(spaceId, outcome, taken('This link was confirmed already.'));
      case ConfirmOutcome.deviceTaken:
        throw this.#refused(
          spaceId,
          outcome,
          new SpaceError(
            SpaceErrorReason.deviceTaken,
            'That device is already part of this space. Please make a new link.',
          ),
        );
      case ConfirmOutcome.seatTaken:
        throw this.#refused(spaceId, outcome, partnerStillThere());
    }
  }

  /** `device` ends a link of its seat, in whatever state it is. */
  async end(device: DeviceRecord, rawLinkId: string): Promise<void> {
    const { links, now } = this.#deps;
    const linkId = linkIdOrGone(rawLinkId);
    if (!(await links.endLink(device.spaceId, linkId, device.partnerId, now()))) throw linkGone();
    this.#record('ended', device.spaceId, linkId);
  }

  async #collect(spaceId: SpaceId, claim: LinkClaim): Promise<LinkCollectedResponse> {
    const { links, now } = this.#deps;
    const token = newToken();
    const collected = await links.collectLink(spaceId, claim, hashSecret(token), now());
    if (!collected) throw this.#refused(spaceId, 'not-collectable', linkGone('new device'));
    const [creator] = await this.#deps.directory.listDevices(spaceId);
    if (!creator) throw new Error('a sealed space without devices');
    this.#record('collected', spaceId, collected.linkId);
    return {
      spaceId,
      partnerId: collected.partnerId,
      token,
      box: encodeBase64Url(collected.box),
      creator: {
        signingKey: encodeBase64Url(creator.signingKey),
        agreementKey: encodeBase64Url(creator.agreementKey),
      },
      linkSeq: collected.linkSeq,
    };
  }

  #record(
    event: LinkEvent,
    spaceId: SpaceId,
    linkId: LinkId,
    extra: Record<string, number> = {},
  ): void {
    this.#deps.metrics.deviceLinks.inc({ event });
    this.#deps.log.info({ spaceId, linkId, ...extra }, `device link ${event}`);
  }

  #refused(spaceId: SpaceId, reason: string, error: SpaceError): SpaceError {
    this.#deps.metrics.deviceLinks.inc({ event: 'refused' });
    this.#deps.log.info({ spaceId, reason }, 'device link step refused');
    return error;
  }
}

function linkIdOrGone(raw: string): LinkId {
  if (!isLinkId(raw)) throw linkGone();
  return raw;
}

/**
 * Unknown, expired, ended, or another seat's: all say the same (docs/protocol.md, step 2). The
 * new device is told where a new link comes from; the seat's device makes it.
 */
function linkGone(to: 'new device' | 'seat' = 'seat'): SpaceError {
  return new SpaceError(
    SpaceErrorReason.notFound,
    to === 'new device'
      ? 'This link no longer works. Please make a new one on your other device.'
      : 'This link no longer works. Please make a new one.',
  );
}

/**
 * A return link while the other seat has a current device. The server knows no names (they
 * live in the sealed document), so the device's screen may name the partner; this says it plainly.
 */
function partnerStillThere(): SpaceError {
  return new SpaceError(
    SpaceErrorReason.seatTaken,
    'Your partner still has a device in this space. Remove it first, from Settings → Devices.',
  );
}

function revoked(): SpaceError {
  return new SpaceError(SpaceErrorReason.revoked, 'This device is no longer part of this space.');
}
