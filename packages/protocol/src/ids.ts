import { ID_PATTERN, type PartnerId, type SpaceId } from '@mend/model';

// The id shape and brands are the model's (one definition); the wire validates with them.
export type { PartnerId, SpaceId };

export function isSpaceId(value: unknown): value is SpaceId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

export function isPartnerId(value: unknown): value is PartnerId {
  return typeof value === 'string' && ID_PATTERN.test(value);
}
