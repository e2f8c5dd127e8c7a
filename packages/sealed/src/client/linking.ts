import { isPartnerId, type PartnerId, type SpaceId } from '@mend/protocol';
import { equalBytes, fromBase64Url, toBase64Url } from '../bytes.js';
import { randomBytes } from '../crypto.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { newDeviceIdentity, type DeviceIdentity } from '../identity.js';
import {
  linkCheck,
  linkCodeFor,
  linkSecretText,
  newLinkSecret,
  openLinkBox,
  parseLinkSecret,
  sealLinkBox,
  type LinkSecret,
} from '../link.js';
import { encodeLinkPayload, encodeReturnPayload, type LinkPayload } from '../payloads.js';
import { newSeatSecret, SEAT_SECRET_BYTES, type SeatSecret } from '../reveal.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { abortable as abortableWith } from './abortable.js';
import { COOKIE_TOKEN } from './conversion.js';
import { again, del, get, post, postAnswer, SealedApiError, type ApiOptions } from './http.js';
import type { SealedMembership } from './sealedSpaces.js';
import type { SealedSession } from './SealedSession.js';

/*
 * Linking a device to this partner's seat (docs/protocol.md, "Linking a device"). On the device
 * already in (E): `offerLink`, `linkStatus` until a device claimed it, `linkCheckFor` to show the
 * six digits, `confirmLink` once the person saw the same digits on both screens (or `endLink`).
 * On the new device (N): `claimLink`, show `claim.check`, then `claim.collect()` until E confirmed.
 * The same steps bring the other partner back to a seat left with no device ("Returning to a
 * seat"): `offerLink(…, { seat: 'partner' })` and `confirmLink({ …, returning })`.
 * The server sees the link code, public keys and a box it cannot open; requests go through
 * http.ts (`fetch` injectable), a lost answer sent again.
 */

/** Why linking stopped, in words a person can act on. */
export const LinkErrorReason = {
  /** The link expired, was ended, or never existed (the server says only that: 404). */
  gone: 'gone',
  /** Another device claimed this link first. */
  taken: 'taken',
  /** No device has claimed the link (yet), so there is nothing to confirm. */
  notClaimed: 'not-claimed',
  /** The device that claimed the link is not the one whose digits were compared. */
  otherDevice: 'other-device',
  /** This device's own member statement is not in its log yet: it cannot vouch for another. */
  notMember: 'not-member',
  /** A return to a seat that still has a device (or is this device's own): remove those first. */
  seatHeld: 'seat-held',
  /** The caller gave up (its AbortSignal). */
  cancelled: 'cancelled',
} as const;
export type LinkErrorReason = (typeof LinkErrorReason)[keyof typeof LinkErrorReason];

const messages: Record<LinkErrorReason, string> = {
  gone: 'This link no longer works. Ask for a new one on the device that is already in the space.',
  taken: 'Another device already used this link. Ask for a new one.',
  'not-claimed': 'No device has opened the link yet.',
  'other-device':
    'The device that opened the link has changed since the numbers were compared. End this link and start again.',
  'not-member': 'This device is not fully set up in the space yet. Let it sync, then try again.',
  'seat-held':
    'Your partner still has a device in the space. Remove their devices first, then bring them back.',
  cancelled: 'Linking was stopped.',
};

export class LinkError extends Error {
  override readonly name = 'LinkError';
  constructor(readonly reason: LinkErrorReason) {
    super(messages[reason]);
  }
}

/** A device's public keys, as the link check and the link statement name them. */
export interface LinkDevice {
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
}

/** Where the linking device's requests go: its open session, or the space and its token. */
export type LinkTarget =
  Pick<SealedSession, 'membership'> | { readonly spaceId: SpaceId; readonly token?: string | null };

export interface LinkOffer {
  readonly linkId: string;
  /** Never sent to the server; `linkText` is its form in the link (`#l=`). */
  readonly linkSecret: LinkSecret;
  readonly linkText: string;
}

export interface OfferLinkOptions extends ApiOptions {
  /**
   * `partner`: a return link, bringing the other partner back to their seat once it has no
   * device left (docs/protocol.md, "Returning to a seat"); the server refuses it (409) while it
   * has one. This device's own seat by default.
   */
  readonly seat?: 'own' | 'partner';
}

/**
 * Offers a link to this device's seat, or with `seat: 'partner'` a return link to the other's
 * (`POST /api/sealed-spaces/:spaceId/links`): a new link secret, of which the server receives
 * only the code. Show `<origin>/link/<spaceId>#l=<linkText>` and its QR code. A new offer ends
 * the seat's earlier one of the same kind.
 */
export async function offerLink(
  target: LinkTarget,
  options: OfferLinkOptions = {},
): Promise<LinkOffer> {
  const { spaceId, token } = credentials(target);
  const linkSecret = newLinkSecret();
  const body = {
    linkCode: linkCodeFor(linkSecret),
    ...(options.seat === 'partner' ? { seat: 'partner' } : {}),
  };
  const answer = await again(options, () =>
    post<unknown>(options, seatLinksPath(spaceId, token), body, token),
  );
  const linkId = (answer as { linkId?: unknown } | null)?.linkId;
  if (!isLinkId(linkId)) throw unreadable('offering a link');
  return { linkId, linkSecret, linkText: linkSecretText(linkSecret) };
}

export type LinkState = 'open' | 'claimed' | 'confirmed' | 'ended';

export interface LinkStatus {
  readonly state: LinkState;
  /** The device that claimed the link, as the server reports it (null before a claim). */
  readonly device: LinkDevice | null;
}

/** Where a link stands (`GET …/links/:linkId`); an unknown or expired link is `gone`. */
export async function linkStatus(
  target: LinkTarget,
  linkId: string,
  options: ApiOptions = {},
): Promise<LinkStatus> {
  const { spaceId, token } = credentials(target);
  const answer = await linkRequest(() =>
    again(options, () => get<unknown>(options, linkPath(spaceId, linkId, token), token)),
  );
  try {
    const { state, device } = answer as { state: unknown; device?: unknown };
    if (state !== 'open' && state !== 'claimed' && state !== 'confirmed' && state !== 'ended') {
      throw new TypeError('state');
    }
    return { state, device: device === undefined || device === null ? null : readKeys(device) };
  } catch {
    throw unreadable('where the link stands');
  }
}

/** The six digits to show beside the new device's: from the server's report of its keys. */
export function linkCheckFor(linkSecret: LinkSecret, device: LinkDevice): string {
  return linkCheck(linkSecret, device.signingKey, device.agreementKey);
}

export interface ConfirmLinkInput {
  /** This device's open space: its membership goes into the box, the statement into its log. */
  readonly session: Pick<SealedSession, 'membership' | 'provider' | 'replica'>;
  readonly linkId: string;
  /** The device whose six digits the person compared (`linkStatus(…).device`). */
  readonly device: LinkDevice;
  /**
   * For a return link: the other partner's id, whose seat the device returns to. The statement
   * is then a return (keys type 4) and the box holds no seat secret (the device makes its own).
   */
  readonly returning?: PartnerId;
}

export interface ConfirmLinkOptions extends ApiOptions {
  /** Stops waiting for the server to store the link statement (offline, say). */
  readonly signal?: AbortSignal;
}

/**
 * Brings the device that claimed the link into this partner's seat (or, `returning`, back into
 * the other partner's), once the person saw the same digits on both screens: checks that the
 * server still reports that device, writes the link (or return) statement into the log and
 * waits until the server stored it (its seq), then sends `POST …/links/:linkId/confirm` with
 * the link box (every epoch's key this device holds, the creator, the seat secret: 32 zero bytes
 * for a return) sealed to the device's agreement key. A statement already in the log for that
 * device (a confirm tried before) is not written twice; a return the log would set aside is not
 * written at all (`seat-held`). Rejects with a LinkError, a KeysNotStoredError (the statement
 * was not stored) or a SealedApiError.
 */
export async function confirmLink(
  input: ConfirmLinkInput,
  options: ConfirmLinkOptions = {},
): Promise<{ readonly linkSeq: number }> {
  const { session, linkId, device, returning } = input;
  const { membership, replica } = session;
  const me = membership.identity.signing.publicKey;
  if (replica.partnerOf(me) !== membership.partnerId) {
    throw new LinkError(LinkErrorReason.notMember);
  }
  const statement: LinkPayload = {
    partnerId: returning ?? membership.partnerId,
    signingKey: device.signingKey,
    agreementKey: device.agreementKey,
  };
  const status = await linkStatus(session, linkId, options);
  if (status.state === 'ended') throw new LinkError(LinkErrorReason.gone);
  if (status.device === null) throw new LinkError(LinkErrorReason.notClaimed);
  if (!sameDevice(status.device, device)) throw new LinkError(LinkErrorReason.otherDevice);
  const earlier = replica.linkFor(device.signingKey);
  const written =
    earlier &&
    earlier.returned === (returning !== undefined) &&
    earlier.link.partnerId === statement.partnerId &&
    equalBytes(earlier.link.agreementKey, device.agreementKey);
  if (status.state === 'confirmed' && written) return { linkSeq: earlier.seq };
  if (!written && returning !== undefined && !replica.wouldAdmitReturn(me, statement)) {
    throw new LinkError(LinkErrorReason.seatHeld);
  }
  const payload =
    returning === undefined ? encodeLinkPayload(statement) : encodeReturnPayload(statement);
  const linkSeq = written
    ? earlier.seq
    : await abortable(session.provider.submitKeys(payload), options.signal);
  const box = sealSeatBox(
    device.agreementKey,
    returning === undefined ? membership : { ...membership, seatSecret: NO_SEAT_SECRET },
  );
  const { spaceId, token } = credentials(session);
  const path = `${linkPath(spaceId, linkId, token)}/confirm`;
  try {
    await again(options, () =>
      post<unknown>(options, path, { box: toBase64Url(box), linkSeq }, token),
    );
  } catch (error) {
    if (!(error instanceof SealedApiError) || (error.status !== 404 && error.status !== 409)) {
      throw error;
    }
    // A confirm whose answer was lost is refused when sent again: the link says how it went.
    const after = await linkStatus(session, linkId, options);
    if (after.state === 'ended') throw new LinkError(LinkErrorReason.gone);
    if (after.state !== 'confirmed' || !after.device || !sameDevice(after.device, device)) {
      throw error;
    }
  }
  return { linkSeq };
}

/**
 * The link box for a device joining this membership's seat (a linked device, or a recovery
 * kit's): every epoch's key this device holds, the creator's signing key, the seat secret.
 */
export function sealSeatBox(
  agreementKey: Uint8Array,
  membership: Pick<SealedMembership, 'keyring' | 'creator' | 'seatSecret'>,
): Uint8Array {
  const { keyring } = membership;
  return sealLinkBox(agreementKey, {
    epochs: keyring.toStored().epochs.map(({ epoch }) => ({
      epoch,
      spaceKey: keyring.get(epoch)!.spaceKey,
    })),
    creatorSigningKey: membership.creator,
    seatSecret: membership.seatSecret,
  });
}

/** Ends a link (`DELETE …/links/:linkId`); one that is gone already is fine. */
export async function endLink(
  target: LinkTarget,
  linkId: string,
  options: ApiOptions = {},
): Promise<void> {
  const { spaceId, token } = credentials(target);
  try {
    await again(options, () => del(options, linkPath(spaceId, linkId, token), token));
  } catch (error) {
    if (!(error instanceof SealedApiError && error.status === 404)) throw error;
  }
}

/** What the new device holds once the link was confirmed. */
export interface LinkedDevice {
  /**
   * Its keys for the space, the seat secret the same as the linking device's (a fresh one when
   * the box held none: a return).
   */
  readonly membership: SealedMembership;
  /** The seq of the link statement: the device writes its member statement once it synced past it. */
  readonly linkSeq: number;
}

export interface CollectLinkOptions {
  readonly signal?: AbortSignal;
  /**
   * Pauses between asking again while the link waits for confirmation; the last repeats. By
   * default 1, 1, 2, 2, then every 3 seconds.
   */
  readonly pollPausesMs?: readonly number[];
}

/** The new device's claim on a link. */
export interface LinkClaim {
  readonly spaceId: SpaceId;
  /** The six digits to show: the other screen must show the same. */
  readonly check: string;
  /** Asks until the link is confirmed, then opens the box: the device's membership. */
  collect(options?: CollectLinkOptions): Promise<LinkedDevice>;
}

/**
 * Claims a link on the new device (`POST …/links/claim`, no credentials): makes the device's
 * keys and a claim code, and sends their public halves with the link code. Rejects with a
 * SealedError (`malformed`) for a link text that is not a link secret, a LinkError (`gone`,
 * `taken`) or a SealedApiError. The claim lives in memory: a page that reloads before it is
 * collected needs a new link.
 */
export async function claimLink(
  spaceId: SpaceId,
  linkText: string,
  options: ApiOptions = {},
): Promise<LinkClaim> {
  const secret = parseLinkSecret(linkText);
  const identity = newDeviceIdentity();
  const body = {
    linkCode: linkCodeFor(secret),
    claimCode: toBase64Url(randomBytes(CLAIM_CODE_BYTES)),
    signingKey: toBase64Url(identity.signing.publicKey),
    agreementKey: toBase64Url(identity.agreement.publicKey),
  };
  const ask = () =>
    linkRequest(() =>
      again(options, () => postAnswer<unknown>(options, `${linksPath(spaceId)}/claim`, body)),
    );
  const first = await ask();
  if (first.status !== 201 && !isLinkId((first.body as { linkId?: unknown } | null)?.linkId)) {
    throw unreadable('claiming the link');
  }
  let confirmed = first.status === 201 ? first.body : null;
  return {
    spaceId,
    check: linkCheck(secret, identity.signing.publicKey, identity.agreement.publicKey),
    async collect(collectOptions = {}) {
      const pauses = collectOptions.pollPausesMs ?? [1000, 1000, 2000, 2000, 3000];
      for (let attempt = 0; confirmed === null; attempt++) {
        await pause(pauses[Math.min(attempt, pauses.length - 1)] ?? 3000, collectOptions.signal);
        const answer = await ask();
        if (answer.status === 201) confirmed = answer.body;
      }
      return linkedDevice(spaceId, identity, confirmed);
    },
  };
}

// ---- helpers

const CLAIM_CODE_BYTES = 16;

/** The seat secret a return's link box carries: none (the returning device makes its own). */
const NO_SEAT_SECRET = new Uint8Array(SEAT_SECRET_BYTES) as SeatSecret;

/** The 201 answer to a claim, read strictly, its box opened and checked against the creator. */
function linkedDevice(spaceId: SpaceId, identity: DeviceIdentity, answer: unknown): LinkedDevice {
  let read: {
    partnerId: PartnerId;
    token: string;
    box: Uint8Array;
    creator: LinkDevice;
    linkSeq: number;
  };
  try {
    const a = answer as Record<string, unknown>;
    const { partnerId, token, linkSeq } = a;
    if (a['spaceId'] !== spaceId || typeof partnerId !== 'string' || !isPartnerId(partnerId)) {
      throw new TypeError('space or partner');
    }
    if (typeof token !== 'string' || token.length === 0) throw new TypeError('token');
    if (typeof linkSeq !== 'number' || !Number.isSafeInteger(linkSeq) || linkSeq < 1) {
      throw new TypeError('linkSeq');
    }
    read = {
      partnerId,
      token,
      box: fromBase64Url(a['box'] as string),
      creator: readKeys(a['creator']),
      linkSeq,
    };
  } catch {
    throw unreadable('the confirmed link');
  }
  const opened = openLinkBox(identity, read.box);
  if (opened === null) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'The space’s keys were sealed for another device. Ask for a new link.',
    );
  }
  if (!equalBytes(opened.creatorSigningKey, read.creator.signingKey)) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'The space’s keys do not come from the device the server says created the space.',
    );
  }
  const keyring = new SpaceKeyring(spaceId);
  for (const { epoch, spaceKey } of opened.epochs) keyring.add(epoch, spaceKey);
  // A return's box holds no seat secret: the device returning makes its own ("Returning to a seat").
  const noSecret = opened.seatSecret.every((b) => b === 0);
  return {
    membership: {
      spaceId,
      partnerId: read.partnerId,
      token: read.token,
      identity,
      keyring,
      creator: opened.creatorSigningKey,
      seatSecret: noSecret ? newSeatSecret() : opened.seatSecret,
    },
    linkSeq: read.linkSeq,
  };
}

function credentials(target: LinkTarget): { spaceId: SpaceId; token: string | null } {
  if ('membership' in target) {
    const { spaceId, token } = target.membership;
    // A membership made in the browser by a conversion has no token: the cookie goes along.
    return { spaceId, token: token === COOKIE_TOKEN ? null : token };
  }
  return { spaceId: target.spaceId, token: target.token ?? null };
}

function linksPath(spaceId: SpaceId): string {
  return `/api/sealed-spaces/${encodeURIComponent(spaceId)}/links`;
}

/**
 * The seat's link routes: below `/sync/:spaceId` when the space's cookie is the credential (the
 * browser sends it on that path only), below `/api/…` with a Bearer token (docs/api.md).
 */
function seatLinksPath(spaceId: SpaceId, token: string | null): string {
  return token === null ? `/sync/${encodeURIComponent(spaceId)}/links` : linksPath(spaceId);
}

function linkPath(spaceId: SpaceId, linkId: string, token: string | null): string {
  return `${seatLinksPath(spaceId, token)}/${encodeURIComponent(linkId)}`;
}

/** The server's 404 and 409 about a link, as the LinkErrors they mean. */
async function linkRequest<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (error instanceof SealedApiError && error.status === 404) {
      throw new LinkError(LinkErrorReason.gone);
    }
    if (error instanceof SealedApiError && error.status === 409) {
      throw new LinkError(LinkErrorReason.taken);
    }
    throw error;
  }
}

function readKeys(value: unknown): LinkDevice {
  const { signingKey, agreementKey } = value as Record<string, unknown>;
  return {
    signingKey: fromBase64Url(signingKey as string, 32),
    agreementKey: fromBase64Url(agreementKey as string, 32),
  };
}

function sameDevice(a: LinkDevice, b: LinkDevice): boolean {
  return equalBytes(a.signingKey, b.signingKey) && equalBytes(a.agreementKey, b.agreementKey);
}

function isLinkId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{22}$/.test(value);
}

function unreadable(what: string): SealedApiError {
  return new SealedApiError(200, `The server’s answer about ${what} cannot be read.`);
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return abortable(
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    signal,
  ).finally(() => clearTimeout(timer));
}

/** `promise`, or a LinkError (`cancelled`) as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  return abortableWith(promise, signal, () => new LinkError(LinkErrorReason.cancelled));
}
