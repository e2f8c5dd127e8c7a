import { toBase64Url } from '../bytes.js';
import type { LinkPayload } from '../payloads.js';
import { refused, stranger, type Refusal } from './memberRules.js';
import type { Membership } from './Membership.js';

/**
 * Whether a return statement by `author` (not removed: the caller checked) may be taken in, as
 * every device judges it (docs/protocol.md, "Returning to a seat"): from a current device of the
 * other seat, for a seat of this space that has no device left but recovery devices, naming a
 * device the space has never known. "No device left" counts linked devices not announced yet as
 * well as current ones (epoch statements count both as in the space), so a second return while
 * the first device has not announced itself is set aside, not a second way in.
 */
export function judgeReturn(
  membership: Pick<Membership, 'members' | 'links' | 'isCurrent' | 'isLinkedOnly' | 'removedAt'>,
  author: string,
  statement: LinkPayload,
): 'admit' | Refusal {
  const { members, links } = membership;
  const by = members.get(author);
  if (!by || !membership.isCurrent(author)) {
    return stranger('A return from a device that is not a member.');
  }
  if (by.partnerId === statement.partnerId) {
    return refused('A device tried to bring a device back to its own seat (that takes a link).');
  }
  if (![...members.values()].some((m) => m.partnerId === statement.partnerId)) {
    return refused('A return to a seat this space does not have.');
  }
  const device = toBase64Url(statement.signingKey);
  if (members.has(device) || links.has(device) || membership.removedAt(device) !== null) {
    return refused(
      'A return for a device the space already knows (a member, linked, removed or a recovery kit).',
    );
  }
  const inSeat = (key: string, partnerId: string) =>
    partnerId === statement.partnerId &&
    !links.get(key)?.recovery &&
    (membership.isCurrent(key) || membership.isLinkedOnly(key));
  const held =
    [...members].some(([key, m]) => inSeat(key, m.partnerId)) ||
    [...links].some(([key, l]) => inSeat(key, l.link.partnerId));
  if (held) {
    return refused(
      'A return to a seat that still has a device: the seat’s devices are removed first.',
    );
  }
  return 'admit';
}
