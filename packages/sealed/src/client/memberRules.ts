import { equalBytes, toBase64Url } from '../bytes.js';
import type { EpochPayload, LinkPayload, MemberPayload } from '../payloads.js';
import { SetAsideReason } from './setAside.js';

/**
 * Who may join a space's membership, as every device judges it (docs/protocol.md, "Payloads"
 * and "Linking a device"): the creating device first, two seats, and a further device in a seat
 * only when a device of that seat linked it. Devices are base64url signing keys; `members` is in
 * the order they were admitted, `links` by the device each names.
 */

export type Refusal = { readonly reason: SetAsideReason; readonly detail: string };

/** A link statement taken in: who made it, at which seq, and the envelope that carried it. */
export interface LinkRecord {
  /** The linking device. */
  readonly by: string;
  readonly seq: number;
  readonly link: LinkPayload;
  /** A recovery link (keys type 3): the device is the seat's recovery kit ("Recovery kit"). */
  readonly recovery: boolean;
  /**
   * A return (keys type 4): `by`, a device of the other seat, brought the device into a seat
   * left with no device ("Returning to a seat").
   */
  readonly returned: boolean;
  /** The envelope as stored, so a snapshot can carry it with its author's signature. */
  readonly envelope: Uint8Array;
}

/** An epoch statement taken in: its author, seq, what it says, and its envelope as stored. */
export interface EpochRecord {
  readonly by: string;
  readonly seq: number;
  readonly epoch: EpochPayload;
  readonly envelope: Uint8Array;
}

/** A rules statement (keys type 5): the space is judged by `rules` from its seq on. */
export interface RulesRecord {
  readonly by: string;
  readonly seq: number;
  readonly rules: number;
  readonly envelope: Uint8Array;
}

/**
 * Every keys statement a membership keeps: links, recovery links, returns, epoch statements and
 * the rules statements that moved the version on.
 */
export type KeysRecord = LinkRecord | EpochRecord | RulesRecord;

export function isEpochRecord(record: KeysRecord): record is EpochRecord {
  return 'epoch' in record;
}

export function isRulesRecord(record: KeysRecord): record is RulesRecord {
  return 'rules' in record;
}

/** A member statement by `author`: already admitted, to admit, or refused. */
export function judgeStatement(
  members: ReadonlyMap<string, MemberPayload>,
  links: ReadonlyMap<string, Pick<LinkRecord, 'by' | 'link'>>,
  creator: string,
  author: string,
  statement: MemberPayload,
): 'known' | 'admit' | Refusal {
  const known = members.get(author);
  if (known) {
    return known.partnerId === statement.partnerId
      ? 'known'
      : { reason: SetAsideReason.refused, detail: 'A device tried to change seats.' };
  }
  if (members.size === 0 && author !== creator) {
    return stranger('The first member must be the device that created the space.');
  }
  const linked = links.get(author);
  if (linked) {
    // The link was recorded only from a member of its own seat (judgeLink), or from one of the
    // other seat into a seat with no device left (returnRules.ts).
    if (
      linked.link.partnerId !== statement.partnerId ||
      !equalBytes(linked.link.agreementKey, statement.agreementKey)
    ) {
      return {
        reason: SetAsideReason.refused,
        detail: 'A device’s member statement does not match the link that brought it in.',
      };
    }
    return 'admit';
  }
  const seats = new Set([...members.values()].map((m) => m.partnerId));
  if (seats.has(statement.partnerId)) {
    return stranger('A second device for a seat, without a link from it.');
  }
  if (seats.size >= 2) return stranger('A third partner.');
  return 'admit';
}

/** A link statement by `author`: names a device already in (or linked) alike, to admit, or refused. */
export function judgeLink(
  members: ReadonlyMap<string, MemberPayload>,
  links: ReadonlyMap<string, Pick<LinkRecord, 'by' | 'link' | 'recovery' | 'returned'>>,
  author: string,
  link: LinkPayload,
  recovery = false,
): 'known' | 'admit' | Refusal {
  const by = members.get(author);
  if (!by) return stranger('A link from a device that is not a member.');
  if (by.partnerId !== link.partnerId) {
    return refused('A device tried to link a device to another partner’s seat.');
  }
  const linked = toBase64Url(link.signingKey);
  if (linked === author) return refused('A device tried to link itself.');
  const member = members.get(linked);
  if (member) {
    return member.partnerId === link.partnerId
      ? 'known'
      : refused('A link for a device of the other partner.');
  }
  const earlier = links.get(linked);
  if (earlier) {
    return earlier.link.partnerId === link.partnerId &&
      earlier.recovery === recovery &&
      !earlier.returned &&
      equalBytes(earlier.link.agreementKey, link.agreementKey)
      ? 'known'
      : refused('A second link for the same device, with other keys.');
  }
  return 'admit';
}

export function stranger(detail: string): Refusal {
  return { reason: SetAsideReason.stranger, detail };
}

export function refused(detail: string): Refusal {
  return { reason: SetAsideReason.refused, detail };
}
