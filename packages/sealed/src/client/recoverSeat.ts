import { isPartnerId, type PartnerId, type SpaceId } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { IdentityWithBytes } from '../identity.js';
import { openLinkBox } from '../link.js';
import { deriveRecoveryDevice, parseRecoveryCode, recoverySignature } from '../recovery.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { COOKIE_TOKEN } from './conversion.js';
import { again, post, SealedApiError, type ApiOptions } from './http.js';
import {
  claimLink,
  confirmLink,
  endLink,
  LinkError,
  LinkErrorReason,
  linkCheckFor,
  linkStatus,
  offerLink,
  type LinkClaim,
} from './linking.js';
import { admission } from './admission.js';
import type { ShortSession } from './memorySession.js';
import { abortable, RecoveryError } from './recoveryKit.js';
import { removeDevice, type RemovalSession } from './removal.js';
import type { SealedMembership } from './sealedSpaces.js';

/*
 * Recovering a seat with its kit on a fresh device (docs/protocol.md, "Recovering"); making a kit
 * and the errors are in recoveryKit.ts.
 */

// ---- recovering a seat

export type RecoveryStep = 'checking' | 'opening' | 'adding';

export interface RecoveryHooks extends ApiOptions {
  /** Where the recovery stands, for the screen: each step once, in order. */
  step?(step: RecoveryStep): void;
  /**
   * Opens the space, connected, as `membership`'s device: first the recovery device, then this
   * device's own. `openMemorySession` (memorySession.ts) serves both, in the browser and in
   * Node; a `SealedSession` fits too (its `destroy` is called when the step is done).
   */
  openSession(membership: SealedMembership, role: 'recovery' | 'device'): Promise<ShortSession>;
  /**
   * Keeps this device's membership (`SealedSession.saveMembership`): called once it exists,
   * before the recovery device is removed, and again with the new epoch's key once the removal's
   * statement is stored (before the snapshot sealed under it), so a page that dies midway keeps
   * the seat.
   */
  keep?(membership: SealedMembership): Promise<void>;
  /**
   * The browser: the space's cookie is the credential (the server sets it on each answer), and
   * the memberships carry `COOKIE_TOKEN` rather than the token in the answer.
   */
  cookie?: boolean;
  readonly signal?: AbortSignal;
  /** Pauses between asking whether the link was confirmed (it is by then): 0, 0.5, 1, 2 s. */
  readonly pollPausesMs?: readonly number[];
}

export interface RecoveredSeat {
  /** This device's own membership of the seat: keep it and open the space with it. */
  readonly membership: SealedMembership;
  /** The recovery device's signing key. */
  readonly recoveryDevice: Uint8Array;
  /**
   * Whether the recovery device was removed, so the code no longer works. False when its
   * removal failed (the network, say): call `finishRecovery` once the space is open.
   */
  readonly usedUp: boolean;
}

/**
 * Takes a seat back with its recovery code on a fresh device (docs/protocol.md, "Recovering"):
 * reads the code (a typo is a SealedError before any slow work), derives the recovery device,
 * proves it to the server with a signed challenge, opens the kit box (it must name the creator
 * the server names), syncs as the recovery device until its member statement is admitted, links
 * a fresh device identity into the seat (offer, claim, confirm, collect; the six digits compared
 * here), then, as that new device, removes the recovery device. Rejects with a SealedError, a
 * RecoveryError (`wrong-code`, `too-many`, `no-space`, `not-admitted`, `cancelled`), a
 * LinkError or a SealedApiError.
 */
export async function recoverSeat(
  spaceId: SpaceId,
  codeText: string,
  hooks: RecoveryHooks,
): Promise<RecoveredSeat> {
  const code = parseRecoveryCode(codeText);
  hooks.step?.('checking');
  const recovery = await abortable(deriveRecoveryDevice(code, spaceId), hooks.signal);
  const recoveryMembership = await takeBack(spaceId, recovery, hooks);

  hooks.step?.('opening');
  const recoverySession = await hooks.openSession(recoveryMembership, 'recovery');
  let claim: LinkClaim;
  try {
    await admitted(recoverySession, hooks.signal);
    hooks.step?.('adding');
    claim = await linkFromKit(recoverySession, hooks);
  } finally {
    // Closed before the claim is collected: in the browser that answer's cookie is the new device's.
    await recoverySession.destroy();
  }
  const linked = (await claim.collect(collectOptions(hooks))).membership;
  const membership = hooks.cookie ? { ...linked, token: COOKIE_TOKEN } : linked;
  await hooks.keep?.(membership);

  const session = await hooks.openSession(membership, 'device');
  try {
    await admitted(session, hooks.signal);
    // The new epoch's key is kept before the snapshot sealed under it is written (removeDevice).
    const keeping = {
      ...pick(session),
      keepKeys: async () => {
        await session.keepKeys();
        await hooks.keep?.(session.membership);
      },
    };
    const usedUp = await removeKitDevice(keeping, recovery.signing.publicKey, hooks);
    return { membership: session.membership, recoveryDevice: recovery.signing.publicKey, usedUp };
  } finally {
    await session.destroy();
  }
}

// ---- the steps

/**
 * Asks for a challenge and answers it as the recovery device; a lost answer starts again with
 * a new challenge (the one sent is used up whatever happened). The 201 answer as the recovery
 * device's membership, its box opened and checked against the creator the server names.
 */
async function takeBack(
  spaceId: SpaceId,
  recovery: IdentityWithBytes,
  hooks: RecoveryHooks,
): Promise<SealedMembership> {
  const path = `/api/sealed-spaces/${encodeURIComponent(spaceId)}/recovery`;
  let answer: unknown;
  try {
    answer = await abortable(
      again(hooks, async () => {
        const challenged = await post<unknown>(hooks, `${path}/challenge`, {});
        const challenge = (challenged as { challenge?: unknown } | null)?.challenge;
        if (typeof challenge !== 'string') throw unreadable('the recovery challenge');
        return post<unknown>(hooks, path, {
          signingKey: toBase64Url(recovery.signing.publicKey),
          challenge,
          signature: toBase64Url(recoverySignature(recovery, spaceId, challenge)),
        });
      }),
      hooks.signal,
    );
  } catch (error) {
    if (error instanceof SealedApiError) {
      if (error.status === 403) throw new RecoveryError('wrong-code');
      if (error.status === 429) throw new RecoveryError('too-many', error.retryAfterSeconds);
      if (error.status === 404) throw new RecoveryError('no-space');
    }
    throw error;
  }
  const read = readRecovered(answer);
  const opened = openLinkBox(recovery, read.box);
  if (opened === null) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'The space’s keys were not sealed for this recovery code.',
    );
  }
  if (!equalBytes(opened.creatorSigningKey, read.creator)) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'The space’s keys do not come from the device the server says created the space.',
    );
  }
  const keyring = new SpaceKeyring(spaceId);
  for (const { epoch, spaceKey } of opened.epochs) keyring.add(epoch, spaceKey);
  return {
    spaceId,
    partnerId: read.partnerId,
    token: hooks.cookie ? COOKIE_TOKEN : read.token,
    identity: recovery,
    keyring,
    creator: opened.creatorSigningKey,
    seatSecret: opened.seatSecret,
  };
}

/**
 * As the recovery device: offers a link, claims it with a fresh device identity, checks that
 * the server reports that very device (the six digits both ends would show), and confirms.
 */
async function linkFromKit(session: ShortSession, hooks: RecoveryHooks) {
  const offer = await offerLink(session, hooks);
  const claim = await claimLink(session.membership.spaceId, offer.linkText, hooks);
  const { device } = await linkStatus(session, offer.linkId, hooks);
  if (device === null || linkCheckFor(offer.linkSecret, device) !== claim.check) {
    await endLink(session, offer.linkId, hooks).catch(() => {});
    throw new LinkError(LinkErrorReason.otherDevice);
  }
  await confirmLink({ session, linkId: offer.linkId, device }, hooks);
  return claim;
}

/** Removes the recovery device as this device; false when that failed (`finishRecovery` later). */
async function removeKitDevice(
  session: RemovalSession,
  recoveryDevice: Uint8Array,
  hooks: RecoveryHooks,
): Promise<boolean> {
  try {
    await removeDevice(session, recoveryDevice, hooks);
    return true;
  } catch {
    // The seat is this device's either way; the used kit is ended later (`finishRecovery`).
    if (hooks.signal?.aborted) throw new RecoveryError('cancelled');
    return false;
  }
}

/**
 * Resolves once this device's member statement is admitted in its session's log (the provider
 * announces it by itself once the log would admit it): `not-admitted` when it cannot get there.
 */
async function admitted(session: ShortSession, signal: AbortSignal | undefined): Promise<void> {
  const answer = await admission(session, signal);
  if (answer === 'out') throw new RecoveryError('not-admitted');
  if (answer === 'cancelled') throw new RecoveryError('cancelled');
}

// ---- helpers

function pick(session: ShortSession): Omit<RemovalSession, 'keepKeys'> {
  const { membership, provider, replica } = session;
  return { membership, provider, replica };
}

function readRecovered(answer: unknown): {
  partnerId: PartnerId;
  token: string;
  box: Uint8Array;
  creator: Uint8Array;
} {
  try {
    const a = answer as Record<string, unknown>;
    const { partnerId, token } = a;
    if (typeof partnerId !== 'string' || !isPartnerId(partnerId)) throw new TypeError('partner');
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('token');
    const creator = a['creator'] as Record<string, unknown>;
    return {
      partnerId,
      token,
      box: fromBase64Url(a['box'] as string),
      creator: fromBase64Url(creator['signingKey'] as string, 32),
    };
  } catch {
    throw unreadable('the recovery');
  }
}

function collectOptions(hooks: RecoveryHooks) {
  return {
    pollPausesMs: hooks.pollPausesMs ?? [0, 500, 1000, 2000],
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  };
}

function unreadable(what: string): SealedApiError {
  return new SealedApiError(200, `The server’s answer about ${what} cannot be read.`);
}
