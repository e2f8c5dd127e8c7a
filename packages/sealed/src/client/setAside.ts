import type { PartnerId } from '@mend/model';

/** Why an envelope was kept aside instead of applied (both partners are told, in plain words). */
export const SetAsideReason = {
  /** Not an envelope of this space, or its signature or encryption does not hold. */
  forged: 'forged',
  /** Out of its stream's order: replayed, reordered, or something before it was dropped. */
  outOfOrder: 'out-of-order',
  /** Written by a device that is not one of the partners' devices. */
  stranger: 'stranger',
  /** Changes what belongs to the other partner, or breaks the document's rules. */
  refused: 'refused',
  /** A snapshot that leaves out or changes what this device already holds. */
  badSnapshot: 'bad-snapshot',
  /** A kind of envelope this version does not take from the log. */
  unsupported: 'unsupported',
  /** Not an envelope: positions the server said it holds and did not serve. */
  missing: 'missing',
} as const;
export type SetAsideReason = (typeof SetAsideReason)[keyof typeof SetAsideReason];

export interface SetAside {
  readonly seq: number;
  readonly reason: SetAsideReason;
  readonly detail: string;
  /** The author device (base64url), when the envelope could be read that far. */
  readonly author: string | null;
}

export type Receipt =
  | { readonly kind: 'applied' }
  | { readonly kind: 'member'; readonly partnerId: PartnerId; readonly device: string }
  /** A link statement: `by` brings `device` (both base64url signing keys) into `partnerId`'s seat. */
  | {
      readonly kind: 'link';
      readonly partnerId: PartnerId;
      readonly device: string;
      readonly by: string;
    }
  | { readonly kind: 'snapshot' }
  | { readonly kind: 'set-aside'; readonly entry: SetAside };
