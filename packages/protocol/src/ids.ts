import * as v from 'valibot';

/** A space's id: URL-safe, 16 to 64 characters (contract). */
export type SpaceId = string & { readonly __brand: 'SpaceId' };
/** A partner's id within a space: URL-safe, 16 to 64 characters (contract). */
export type PartnerId = string & { readonly __brand: 'PartnerId' };

const ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

export const SpaceIdSchema = v.pipe(
  v.string(),
  v.regex(ID_PATTERN, 'is not a valid space id'),
  v.transform((s) => s as SpaceId),
);
export const PartnerIdSchema = v.pipe(
  v.string(),
  v.regex(ID_PATTERN, 'is not a valid partner id'),
  v.transform((s) => s as PartnerId),
);

export function isSpaceId(value: unknown): value is SpaceId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
