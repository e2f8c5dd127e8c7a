import { ID_PATTERN, type PartnerId, type SpaceId } from '@mend/model';
import * as v from 'valibot';

// The id shape and brands are the model's (one definition); the wire validates with them.
export type { PartnerId, SpaceId };

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

export function isPartnerId(value: unknown): value is PartnerId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
