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
  /** Written by a device after it was removed from the space (docs/protocol.md, issue 13). */
  removed: 'removed',
  /**
   * A new epoch's key this device cannot open (its box is missing its mark, names another space
   * or epoch, or is not for its key): recorded for this device alone, while the statement still
   * counts for membership as on every other device.
   */
  unopenedKey: 'unopened-key',
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
      /** A recovery link: `device` is the seat's recovery kit. */
      readonly recovery: boolean;
      /** A return: `by`, of the other seat, brought `device` back into a seat left empty. */
      readonly returned: boolean;
    }
  /**
   * An epoch statement by `by`: `epoch` is the space's newest from here, `removed` (base64url
   * signing keys) are out. `unopened` is the entry set aside for this device alone when its own
   * box did not open; `keyHeld` says whether this device holds the new key now.
   */
  | {
      readonly kind: 'epoch';
      readonly epoch: number;
      readonly removed: readonly string[];
      readonly by: string;
      readonly keyHeld: boolean;
      readonly unopened: SetAside | null;
    }
  | { readonly kind: 'snapshot' }
  /** A rules statement by `by`: the log is judged by version `rules` from here. */
  | { readonly kind: 'rules'; readonly rules: number; readonly by: string }
  /**
   * Nothing taken in: the log moved on to a version of the rules this device does not know
   * (`SealedReplica.paused`), so it stops rather than judge by rules it lacks.
   */
  | { readonly kind: 'paused'; readonly rules: number }
  | { readonly kind: 'set-aside'; readonly entry: SetAside };

/** `entry`, added to `list` unless one for the same seq and reason is there (then that one). */
export function recordOnce(list: SetAside[], entry: SetAside): SetAside {
  const known = list.find((e) => e.seq === entry.seq && e.reason === entry.reason);
  if (known) return known;
  list.push(entry);
  return entry;
}

/** Drops the unopened key recorded at `seq` (a snapshot held back, then taken after all). */
export function forgetUnopened(list: SetAside[], seq: number): void {
  const at = list.findIndex((e) => e.seq === seq && e.reason === SetAsideReason.unopenedKey);
  if (at >= 0) list.splice(at, 1);
}
