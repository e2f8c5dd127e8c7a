/**
 * Why a space could not be created, joined, sealed or linked to a device, or a device removed or
 * recovered; the HTTP edge maps each to a status.
 */
export const SpaceErrorReason = {
  /** No such space (never created, or deleted). */
  notFound: 'not-found',
  /** The invite code does not match the space's. */
  wrongInvite: 'wrong-invite',
  /** The invite was used: the space already holds its two partners. */
  full: 'full',
  /** The document model refused the content (a name it cannot hold). */
  invalid: 'invalid',
  /** A plaintext join of a sealed space, or a sealed join of a plaintext one. */
  otherKind: 'other-kind',
  /** A joining device presented a signing key a device of the space already has. */
  deviceTaken: 'device-taken',
  /**
   * A conversion that no longer fits the space: it is sealed already, or its partners or its
   * invite are not what the converting device listed.
   */
  changed: 'changed',
  /**
   * A device link taken by another claim, confirmed otherwise, not claimed yet, or whose code
   * another live link has.
   */
  linkTaken: 'link-taken',
  /**
   * A return link for a seat that still has a current device (recovery devices aside), or in a
   * space with no other seat.
   */
  seatTaken: 'seat-taken',
  /** The device acting was revoked while its request was on its way. */
  revoked: 'revoked',
  /** A device asked to remove itself (it leaves with DELETE /sync/:spaceId instead). */
  ownDevice: 'own-device',
  /** A recovery with a wrong signature, an unknown key, or a used or expired challenge. */
  recoveryRefused: 'recovery-refused',
} as const;
export type SpaceErrorReason = (typeof SpaceErrorReason)[keyof typeof SpaceErrorReason];

/** A refusal from the spaces module; its message is a calm sentence a person may read. */
export class SpaceError extends Error {
  override readonly name = 'SpaceError';

  constructor(
    readonly reason: SpaceErrorReason,
    message: string,
  ) {
    super(message);
  }
}
