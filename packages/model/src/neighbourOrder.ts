import * as Y from 'yjs';
import { Refused, UpdateRefusal } from './AuthorshipCheck.js';
import type { Placement } from './Placement.js';

/**
 * Refuses an item whose right neighbour (right origin) does not lie after its left neighbour
 * (origin) in one list of the document: the right one lies before the left one, or in another
 * list. An honest item is made between two neighbours that touch, and items never move, so in
 * any document holding both the left one still lies before the right one; Yjs's ordering
 * (YATA) relies on it. For a crafted item it walks past the right neighbour to the list's end,
 * and where the item lands then depends on the order updates were integrated in: the devices
 * that applied the log in seq order would show other text than a fresh device loading a
 * snapshot, whose encoding puts the same items in another order.
 *
 * Decided only where both neighbours are in the document (the log the check runs against);
 * neighbours inside the update itself are not placed yet. A neighbour that is garbage makes
 * the item garbage (Placement), whatever the order. Cost: a walk from the left neighbour to the
 * right one, the same stretch Yjs walks when it integrates the item; for a keystroke, one step.
 */
export function checkNeighbourOrder(placement: Placement): Refused | null {
  for (const item of placement.fresh) {
    const { origin, rightOrigin } = item;
    if (!origin || !rightOrigin) continue;
    if (!placement.isKnown(origin) || !placement.isKnown(rightOrigin)) continue;
    const left = placement.structAt(origin);
    const right = placement.structAt(rightOrigin);
    if (!(left instanceof Y.Item) || !(right instanceof Y.Item)) continue;
    if (!liesBefore(left, origin, right, rightOrigin)) {
      return new Refused(
        UpdateRefusal.malformed,
        'an item’s right neighbour does not lie after its left neighbour in the same list',
      );
    }
  }
  return null;
}

/** Whether the character `leftId` (in `left`) lies before `rightId` (in `right`) in one list. */
function liesBefore(left: Y.Item, leftId: Y.ID, right: Y.Item, rightId: Y.ID): boolean {
  if (left === right) return leftId.clock < rightId.clock;
  for (let next = left.right; next !== null; next = next.right) {
    if (next === right) return true;
  }
  return false;
}
