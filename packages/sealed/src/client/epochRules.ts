import { toBase64Url } from '../bytes.js';
import type { EpochPayload } from '../payloads.js';
import { refused, stranger, type Refusal } from './memberRules.js';
import type { Membership } from './Membership.js';
import { LEAVING_RULES } from './rulesBook.js';

/**
 * Whether an epoch statement by `author` (not removed: the caller checked) may be taken in, as
 * every device judges it (docs/protocol.md, "Removing a device and new epochs"): from a current
 * device, for exactly the next epoch, removing only devices in the space (members or linked; the
 * author itself when it leaves, from rules version 2 on), and boxing the key to exactly the
 * devices that stay. Whatever fails leaves
 * membership and keys as they were, the same on every device. Devices listed twice never get
 * here: the payload's decoder refuses them.
 */
export function judgeEpoch(
  membership: Pick<Membership, 'epoch' | 'isCurrent' | 'isLinkedOnly' | 'staying' | 'rules'>,
  author: string,
  statement: EpochPayload,
): 'admit' | Refusal {
  if (!membership.isCurrent(author))
    return stranger('A new key from a device that is not a member.');
  const next = membership.epoch + 1;
  if (statement.epoch !== next) {
    return refused(
      `A new key for epoch ${statement.epoch} where epoch ${next} comes next: another change of keys came first.`,
    );
  }
  const removed = new Set(statement.removed.map(toBase64Url));
  for (const device of removed) {
    if (device === author && membership.rules < LEAVING_RULES) {
      return refused('A device tried to remove itself.');
    }
    if (!membership.isCurrent(device) && !membership.isLinkedOnly(device)) {
      return refused('A removal of a device that is not in the space.');
    }
  }
  const staying = new Set(
    membership
      .staying()
      .map((d) => d.signingKey)
      .filter((d) => !removed.has(d)),
  );
  const boxed = statement.boxes.map((b) => toBase64Url(b.signingKey));
  if (boxed.length !== staying.size || boxed.some((d) => !staying.has(d))) {
    return refused(
      'A new key not boxed to exactly the devices that stay (a device was linked or removed meanwhile, or one was left out).',
    );
  }
  return 'admit';
}
