import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { LinkId, PartnerId, SpaceId } from '@mend/protocol';

/** 128 random bits, URL-safe: 22 characters, inside the model's ID_PATTERN (docs/api.md, Ids). */
export function newSpaceId(): SpaceId {
  return randomBytes(16).toString('base64url') as SpaceId;
}

export function newPartnerId(): PartnerId {
  return randomBytes(16).toString('base64url') as PartnerId;
}

/** A bearer token: 256 random bits. Only its hash is stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** An invite code: 128 random bits, short enough to sit in a link's fragment. */
export function newInviteCode(): string {
  return randomBytes(16).toString('base64url');
}

/** A device link's id: 128 random bits (docs/protocol.md, "Linking a device"). */
export function newLinkId(): LinkId {
  return randomBytes(16).toString('base64url') as LinkId;
}

export function hashSecret(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret, 'utf8').digest());
}

/** Constant-time comparison of two hashes. */
export function sameHash(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && timingSafeEqual(a, b);
}
