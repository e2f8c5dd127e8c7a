import type { PartnerId, SpaceId } from '@mend/protocol';
import { fromBase64Url, toBase64Url } from '../bytes.js';
import { encodeRecoveryLinkPayload } from '../payloads.js';
import {
  deriveRecoveryDevice,
  formatRecoveryCode,
  newRecoveryCode,
  recoveryAddress,
  recoveryKitLink,
} from '../recovery.js';
import { abortable as abortableWith } from './abortable.js';
import { COOKIE_TOKEN } from './conversion.js';
import { again, put, type ApiOptions } from './http.js';
import { sealSeatBox } from './linking.js';
import { removeDevice, type RemovalSession } from './removal.js';
import type { SealedReplica, SpaceDevice } from './SealedReplica.js';
import type { SealedMembership } from './sealedSpaces.js';

/*
 * The recovery kit on the devices (docs/protocol.md, "Recovery kit"). On a current device:
 * `makeRecoveryKit` (a new code, its recovery device linked into this seat, the kit left with
 * the server). On a fresh device with the code: `recoverSeat` takes the seat back as the
 * recovery device, links this device's own keys into it as "Linking a device" does, and removes
 * the recovery device (the code works once). `finishRecovery` ends a used kit that a recovery
 * could not remove. The code and the recovery device's secrets never leave the device.
 */

/** Why a recovery kit could not be made or used, in words a person can act on. */
export const RecoveryErrorReason = {
  /** The server does not know this code's device in this space (403). */
  wrongCode: 'wrong-code',
  /** Too many wrong codes for this space lately (429): `retryAfterSeconds` says how long to wait. */
  tooMany: 'too-many',
  /** No such space (404). */
  noSpace: 'no-space',
  /** This device is not (or no longer) a current device of the space. */
  notMember: 'not-member',
  /** The seat has a recovery kit and the caller did not say to replace it. */
  kitExists: 'kit-exists',
  /** The kit's device could not catch up with the space (what the log holds now is not readable to it). */
  notAdmitted: 'not-admitted',
  /** The caller gave up (its AbortSignal). */
  cancelled: 'cancelled',
} as const;
export type RecoveryErrorReason = (typeof RecoveryErrorReason)[keyof typeof RecoveryErrorReason];

const messages: Record<RecoveryErrorReason, string> = {
  'wrong-code': 'This code does not open this space. Please check the code and try again.',
  'too-many': 'Too many wrong codes were tried for this space.',
  'no-space':
    'No space was found at this address. Please check it against your recovery kit; if it matches, the space may have been deleted.',
  'not-member': 'This device is not fully set up in the space, or was removed from it.',
  'kit-exists':
    'You already have a recovery kit. A new one replaces it, and the old code stops working.',
  'not-admitted':
    'Your recovery kit could not open your space just now. Please try again in a few minutes. If it keeps happening, your partner can bring you back from Settings, then Devices.',
  cancelled: 'Recovery was stopped.',
};

export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
  constructor(
    readonly reason: RecoveryErrorReason,
    /** For `too-many`: seconds until the space accepts a code again, as the server said. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(
      reason === 'too-many' && retryAfterSeconds !== null
        ? `${messages[reason]} Please try again in ${waitWords(retryAfterSeconds)}.`
        : messages[reason],
    );
  }
}

/** The seat's recovery device still in the space (used or not), or null. */
export function currentRecoveryDevice(
  replica: Pick<SealedReplica, 'devices'>,
  partnerId: PartnerId,
): SpaceDevice | null {
  return (
    replica
      .devices()
      .find((d) => d.recovery && d.partnerId === partnerId && d.removedAt === null) ?? null
  );
}

// ---- making a kit

export type KitSession = RemovalSession;

export interface RecoveryKitOptions extends ApiOptions {
  /** The app's public origin (`https://mend.example`): the kit's address and link start so. */
  readonly origin: string;
  /**
   * The seat's current recovery device (its signing key, `currentRecoveryDevice`), once the
   * person agreed that the new kit replaces it: it is removed first, and its code stops working.
   */
  readonly replacing?: Uint8Array | null;
  /** Stops waiting for the server (offline, say); what was written stays written. */
  readonly signal?: AbortSignal;
}

export interface RecoveryKit {
  /** The code as a person writes it down: `XXXX-XXXX-…` (Crockford base32). */
  readonly code: string;
  /** `<origin>/recover/<spaceId>#r=<code>`: the kit's link (the code in its fragment). */
  readonly link: string;
  /** `<origin>/recover/<spaceId>`: where a fresh device types the code. */
  readonly address: string;
}

/**
 * Makes a recovery kit for this device's seat: a new code, its recovery device's keys (Argon2id:
 * a second or more), a recovery link statement in the log, waited for until the server stored
 * it (its seq), then `PUT …/recovery` with the link box sealed to the recovery device (every
 * epoch's key, the creator, the seat secret), sent again after a lost answer. A seat has at most
 * one recovery device: a current one must be named in `replacing`, and is removed first
 * (`removeDevice`: a new epoch without it). Rejects with a RecoveryError (`not-member`,
 * `kit-exists`, `cancelled`), a RemovalError, a KeysNotStoredError or a SealedApiError.
 */
export async function makeRecoveryKit(
  session: KitSession,
  options: RecoveryKitOptions,
): Promise<RecoveryKit> {
  const { membership, replica } = session;
  const { spaceId, partnerId } = membership;
  checkCurrent(session);
  const earlier = currentRecoveryDevice(replica, partnerId);
  const replacing = options.replacing ? toBase64Url(options.replacing) : null;
  if (earlier && earlier.signingKey !== replacing) throw new RecoveryError('kit-exists');
  const code = newRecoveryCode();
  const recovery = await abortable(deriveRecoveryDevice(code, spaceId), options.signal);
  if (earlier) await removeDevice(session, fromBase64Url(earlier.signingKey, 32), options);
  checkCurrent(session);
  const device = {
    signingKey: recovery.signing.publicKey,
    agreementKey: recovery.agreement.publicKey,
  };
  const linkSeq = await abortable(
    session.provider.submitKeys(encodeRecoveryLinkPayload({ partnerId, ...device })),
    options.signal,
  );
  const body = {
    signingKey: toBase64Url(device.signingKey),
    agreementKey: toBase64Url(device.agreementKey),
    box: toBase64Url(sealSeatBox(device.agreementKey, membership)),
    linkSeq,
  };
  const token = tokenOf(membership);
  await abortable(
    again(options, () => put(options, `${seatPath(spaceId, token)}/recovery`, body, token)),
    options.signal,
  );
  return {
    code: formatRecoveryCode(code),
    link: recoveryKitLink(options.origin, spaceId, code),
    address: recoveryAddress(options.origin, spaceId),
  };
}

/**
 * Removes this seat's used recovery kits: recovery devices still in the space that announced
 * themselves (a recovery took the seat with them). For a recovery whose last step failed
 * (`usedUp: false`); with nothing to do it does nothing. Resolves with how many it removed.
 */
export async function finishRecovery(
  session: RemovalSession,
  options: ApiOptions & { readonly signal?: AbortSignal } = {},
): Promise<number> {
  checkCurrent(session);
  const used = session.replica
    .devices()
    .filter(
      (d) =>
        d.recovery &&
        d.announced &&
        d.removedAt === null &&
        d.partnerId === session.membership.partnerId,
    );
  for (const device of used) {
    await removeDevice(session, fromBase64Url(device.signingKey, 32), options);
  }
  return used.length;
}

// ---- helpers

export function checkCurrent(session: Pick<RemovalSession, 'membership' | 'replica'>): void {
  const { replica, membership } = session;
  const me = toBase64Url(membership.identity.signing.publicKey);
  if (
    replica.partnerOf(membership.identity.signing.publicKey) !== membership.partnerId ||
    !replica.standing.isCurrent(me)
  ) {
    throw new RecoveryError('not-member');
  }
}

function tokenOf(membership: SealedMembership): string | null {
  return membership.token === COOKIE_TOKEN ? null : membership.token;
}

/** The seat's routes: below `/sync/:spaceId` with the cookie, below `/api/…` with a Bearer token. */
function seatPath(spaceId: SpaceId, token: string | null): string {
  return token === null
    ? `/sync/${encodeURIComponent(spaceId)}`
    : `/api/sealed-spaces/${encodeURIComponent(spaceId)}`;
}

function waitWords(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 1) return 'a minute';
  return minutes < 60
    ? `${minutes} minutes`
    : `${Math.ceil(minutes / 60)} hour${minutes > 60 ? 's' : ''}`;
}

/** `promise`, or a RecoveryError (`cancelled`) as soon as `signal` aborts. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return abortableWith(promise, signal, () => new RecoveryError('cancelled'));
}
