import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  SEALED_SUBPROTOCOL,
  encodeBase64Url,
  isSpaceId,
  spaceCookieName,
  type PartnerId,
  type SpaceId,
} from '@mend/protocol';
import type { DeviceRecord, PartnerRecord, SpaceDirectory } from '../storage/StorageAdapter.js';
import { hashSecret, sameHash } from './credentials.js';

/**
 * Whom a credential names: a partner of a plaintext space, or a device of a sealed one (a sealed
 * space has devices and no partner rows, so the token alone tells which kind of space it is).
 */
export type SyncMember =
  | { readonly sealed: false; readonly partner: PartnerRecord }
  | { readonly sealed: true; readonly device: DeviceRecord };

/**
 * One name per member of a space, for finding the sockets its credential opened: a sealed
 * space's device by its signing key (its token may be renewed), a plaintext partner by id.
 */
export function memberKey(spaceId: SpaceId, member: SyncMember): string {
  const key = member.sealed
    ? deviceMemberKey(spaceId, member.device.signingKey)
    : plaintextMemberKey(spaceId, member.partner.partnerId);
  // Kept for the socket's life: copied into one flat string, where the template's result is a
  // chain of concatenations holding a slice of the request's URL, and the URL with it (memory
  // per open socket).
  return Buffer.from(key).toString();
}

/** The memberKey of a sealed space's device, by its signing key. */
export function deviceMemberKey(spaceId: SpaceId, signingKey: Uint8Array): string {
  return `device:${spaceId}:${encodeBase64Url(signingKey)}`;
}

/** The memberKey of a plaintext space's partner. */
export function plaintextMemberKey(spaceId: SpaceId, partnerId: PartnerId): string {
  return `partner:${spaceId}:${partnerId}`;
}

export type SyncAuthResult<Status extends number = 401 | 403 | 404> =
  | { ok: true; spaceId: SpaceId; member: SyncMember }
  | { ok: false; status: Status; error: string; removed?: true };

/**
 * Decides whether a request (an upgrade or a plain GET) may use `/sync/:spaceId`. Checked in
 * this order: the space exists (404, plain GET only), a credential is present (401), the
 * cookie's Origin is allowed (403; see cookieOriginAllowed), the token is known (401), the token
 * belongs to this space (403). An upgrade answers only 401 or 403, as docs/api.md lists: it
 * never tells a caller without a credential whether a space exists (a deleted space's tokens are
 * gone, so its devices get 401); the plain GET is how the app learns the space was deleted.
 * A token in the query string is ignored: it would end up in logs and browser history.
 * `cookieNeedsOrigin` (a DELETE, which every browser sends with an Origin) refuses a cookie
 * that comes without one, as an upgrade does.
 */
export function authorizeSync(
  req: IncomingMessage,
  rawSpaceId: string,
  directory: SpaceDirectory,
  allowedOrigins: readonly string[],
  options: { isUpgrade: true },
): Promise<SyncAuthResult<401 | 403>>;
export function authorizeSync(
  req: IncomingMessage,
  rawSpaceId: string,
  directory: SpaceDirectory,
  allowedOrigins: readonly string[],
  options: { isUpgrade: false; cookieNeedsOrigin?: boolean },
): Promise<SyncAuthResult>;
export async function authorizeSync(
  req: IncomingMessage,
  rawSpaceId: string,
  directory: SpaceDirectory,
  allowedOrigins: readonly string[],
  { isUpgrade, cookieNeedsOrigin = false }: { isUpgrade: boolean; cookieNeedsOrigin?: boolean },
): Promise<SyncAuthResult> {
  if (!isUpgrade && !(isSpaceId(rawSpaceId) && (await directory.getSpace(rawSpaceId)))) {
    return {
      ok: false,
      status: 404,
      error: 'This space does not exist. It may have been deleted.',
    };
  }
  const spaceId = rawSpaceId as SpaceId;
  const bearer = bearerToken(req);
  const cookie = bearer === null ? cookieValue(req, spaceCookieName(spaceId)) : null;
  const token = bearer ?? cookie;
  if (token === null || token === '') {
    return {
      ok: false,
      status: 401,
      error: 'This device is not part of this space. Open Mend on the device you joined with.',
    };
  }
  if (
    cookie !== null &&
    !cookieOriginAllowed(req, allowedOrigins, isUpgrade || cookieNeedsOrigin)
  ) {
    return { ok: false, status: 403, error: 'This page is not allowed to open this space.' };
  }
  const hash = hashSecret(token);
  const member = await findMember(directory, hash);
  if (!member) {
    // A plain GET tells a removed device so: its page then clears the space (docs/api.md).
    if (!isUpgrade && (await directory.isRevokedDeviceToken(hash))) {
      return {
        ok: false,
        status: 401,
        error: 'This device was removed from this space.',
        removed: true,
      };
    }
    return { ok: false, status: 401, error: 'This device is no longer part of this space.' };
  }
  const memberSpace = member.sealed ? member.device.spaceId : member.partner.spaceId;
  if (memberSpace !== spaceId) {
    return { ok: false, status: 403, error: 'This device belongs to a different space.' };
  }
  return { ok: true, spaceId, member };
}

async function findMember(directory: SpaceDirectory, hash: Uint8Array): Promise<SyncMember | null> {
  const partner = await directory.findPartnerByTokenHash(hash);
  if (partner && sameHash(partner.tokenHash, hash)) return { sealed: false, partner };
  const device = await directory.findDeviceByTokenHash(hash);
  if (device && sameHash(device.tokenHash, hash)) return { sealed: true, device };
  return null;
}

/**
 * Whether an upgrade asks for the sealed socket (WebSocket subprotocol `mend-sealed-1` among
 * those it offers). A sealed space is served only that way, a plaintext space never.
 */
export function asksForSealedSocket(req: IncomingMessage): boolean {
  const offered = req.headers['sec-websocket-protocol'] ?? '';
  return offered.split(',').some((protocol) => protocol.trim() === SEALED_SUBPROTOCOL);
}

/**
 * Why a sealed upgrade of a plaintext space is refused (409, before any WebSocket byte). A
 * plaintext upgrade of a sealed space is accepted and closed with 4410 instead (MendServer).
 */
export const NOT_SEALED =
  'This space is not end-to-end encrypted, so it cannot be opened as one. Please reload the page.';

/** The raw space id of a `/sync/:spaceId` path, or null for any other path. */
export function syncPathSpaceId(pathname: string): string | null {
  return /^\/sync\/([^/]+)$/.exec(pathname)?.[1] ?? null;
}

function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Whether the request reached us over TLS. */
export function isTls(req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true;
}

/**
 * Whether the browser reached Mend over https: directly, or through a TLS-terminating proxy
 * that speaks plain HTTP to us, which MEND_PUBLIC_ORIGIN tells. Then cookies are marked Secure
 * and responses carry HSTS.
 */
export function reachedOverHttps(req: IncomingMessage, publicOrigin: string | null): boolean {
  return isTls(req) || (publicOrigin?.startsWith('https:') ?? false);
}

/** The origins besides the request's own host that may use a cookie: the public one, if set. */
export function acceptedOrigins(config: {
  allowedOrigins: readonly string[];
  publicOrigin: string | null;
}): string[] {
  return config.publicOrigin === null
    ? [...config.allowedOrigins]
    : [...config.allowedOrigins, config.publicOrigin];
}

/**
 * Whether a cookie may authenticate this request. A WebSocket upgrade always carries an Origin
 * from a browser, and cookies without one are refused there (cross-site WebSocket hijacking).
 * A same-origin fetch (the web app asking why its socket was refused) sends no Origin, so for
 * plain GETs only a foreign Origin, or a browser saying the request is cross-site, refuses it.
 */
function cookieOriginAllowed(
  req: IncomingMessage,
  allowedOrigins: readonly string[],
  originRequired: boolean,
): boolean {
  const origin = req.headers.origin;
  if (origin === undefined && !originRequired)
    return req.headers['sec-fetch-site'] !== 'cross-site';
  return isAllowedOrigin(req, allowedOrigins);
}

/** The server's own origin as the browser saw it, plus the configured extra origins. */
function isAllowedOrigin(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return false;
  const own = req.headers.host ? `${isTls(req) ? 'https' : 'http'}://${req.headers.host}` : null;
  return origin === own || allowedOrigins.includes(origin);
}
