import * as v from 'valibot';
import type { PartnerId, SpaceId } from './ids.js';
import { ID_PATTERN } from '@mend/model';

// Apart from ids.ts so that code which only checks an id (`isSpaceId`) does not load valibot.
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
