// Loaded on demand by the devices and link pages: linking works through the sealed client.
import type { PartnerId, SpaceId } from '@mend/protocol';
import {
  claimLink,
  confirmLink,
  endLink,
  LinkError,
  linkCheckFor,
  linkStatus,
  offerLink,
  SealedApiError,
  SealedError,
  SealedSession,
  type LinkClaim,
  type LinkDevice,
  type LinkOffer,
  type LinkStatus,
} from '@mend/sealed';

export type { LinkClaim, LinkDevice, LinkOffer, LinkStatus };

/**
 * Adding another device of this partner (docs/protocol.md, "Linking a device"), on the device
 * that is already in: offer a link, watch it, show the six digits, confirm or end it.
 */
export const existing = {
  offer: (session: SealedSession, seat: 'own' | 'partner') => offerLink(session, { seat }),
  status: (session: SealedSession, linkId: string) => linkStatus(session, linkId),
  check: (offer: LinkOffer, device: LinkDevice) => linkCheckFor(offer.linkSecret, device),
  /** `returning`: the partner a return link brings back (docs/protocol.md), or null. */
  confirm: (
    session: SealedSession,
    linkId: string,
    device: LinkDevice,
    returning: PartnerId | null,
  ) => confirmLink({ session, linkId, device, ...(returning ? { returning } : {}) }),
  end: (session: SealedSession, linkId: string) => endLink(session, linkId),
};

/** On the new device: claim the link, then, once confirmed there, keep the keys it brings. */
export async function claim(spaceId: SpaceId, linkText: string): Promise<LinkClaim> {
  return claimLink(spaceId, linkText);
}

export async function collect(
  claimed: LinkClaim,
  signal: AbortSignal,
): Promise<{ partnerId: string }> {
  const { membership } = await claimed.collect({ signal });
  await SealedSession.saveMembership(membership);
  return { partnerId: membership.partnerId };
}

/** What went wrong, in words a person can act on. */
export function linkProblem(error: unknown): string {
  if (error instanceof LinkError) return error.message;
  if (error instanceof SealedError) return error.message;
  if (error instanceof SealedApiError) {
    return error.status === 429
      ? 'Too many tries in a short time. Please wait a minute and try again.'
      : error.message;
  }
  if (error instanceof TypeError) {
    return 'This device cannot reach the Mend server right now. Check the connection and try again.';
  }
  return 'Something went wrong while adding the device. Please try again.';
}
