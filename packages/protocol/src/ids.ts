import { ID_PATTERN, type PartnerId, type SpaceId } from '@mend/model';

// The id shape and brands are the model's (one definition); the wire validates with them.
export type { PartnerId, SpaceId };

export function isSpaceId(value: unknown): value is SpaceId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function isPartnerId(value: unknown): value is PartnerId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** A device link's id (docs/protocol.md, "Linking a device"): 16 random bytes, base64url. */
export type LinkId = string & { readonly __brand: 'LinkId' };

const LINK_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export function isLinkId(value: unknown): value is LinkId {
  return typeof value === 'string' && LINK_ID_PATTERN.test(value);
}
