import type { MemberPayload, SnapshotMember } from '../payloads.js';
import { toBase64Url } from '../bytes.js';
import { SetAsideReason } from './setAside.js';

/**
 * Who may join a space's membership, as every device judges it (docs/protocol.md, "Payloads"):
 * the creating device first, one device per seat, two seats. Devices are base64url signing keys;
 * `members` is in the order they were admitted.
 */

export type Refusal = { readonly reason: SetAsideReason; readonly detail: string };

/** A member statement by `author`: already admitted, to admit, or refused. */
export function judgeStatement(
  members: ReadonlyMap<string, MemberPayload>,
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
  const seats = new Set([...members.values()].map((m) => m.partnerId));
  // A second device in a seat needs that seat's consent (devices, issue 13).
  if (seats.has(statement.partnerId)) {
    return stranger('A second device for a seat, without a link from it.');
  }
  if (seats.size >= 2) return stranger('A third partner.');
  return 'admit';
}

/** Whether `author` may bring this device a snapshot listing `listed`; null if so. */
export function judgeSnapshotMembers(
  members: ReadonlyMap<string, MemberPayload>,
  creator: string,
  author: string,
  listed: readonly SnapshotMember[],
): Refusal | null {
  if (members.size > 0) return null; // the author was checked against them before decrypting
  const first = listed[0];
  if (!first || toBase64Url(first.device) !== creator) {
    return {
      reason: SetAsideReason.badSnapshot,
      detail: 'A snapshot that does not start with the space’s creator.',
    };
  }
  if (!listed.some((m) => toBase64Url(m.device) === author)) {
    return stranger('A snapshot by a device it does not list.');
  }
  return null;
}

function stranger(detail: string): Refusal {
  return { reason: SetAsideReason.stranger, detail };
}
