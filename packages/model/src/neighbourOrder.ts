import * as Y from 'yjs';
import { Refused, UpdateRefusal } from './AuthorshipCheck.js';
import type { Placement } from './Placement.js';

/** An item's left and right neighbour when it was written (its origin and right origin). */
export interface Neighbours {
  readonly origin: Y.ID;
  readonly rightOrigin: Y.ID;
}

/**
 * Refuses an item whose right neighbour (right origin) does not lie after its left neighbour
 * (origin) in one list of the document: the right one lies before the left one, or in another
 * list. An honest item is made between two neighbours that touch, and items never move, so in
 * any document holding both the left one still lies before the right one; Yjs's ordering
 * (YATA) relies on it. For a crafted item its walk never meets the right neighbour (or, with
 * both in one item, splits that item under the left one), and where the item lands then depends
 * on the order updates were integrated in: the devices that applied the log in seq order would
 * show other text than a fresh device loading a snapshot, whose encoding puts the same items in
 * another order. The rule is needed, not enough: SPEC.md, "Known limits of authorship".
 *
 * Where both neighbours are in the document (the log the check runs against), it is decided
 * here: a walk from the left neighbour to the right one, the same stretch Yjs walks when it
 * integrates the item; for a keystroke, one step. Where a neighbour is an item of the update
 * itself, it is decided here too when the update says the two touched: the right neighbour was
 * written with the left one as its own left neighbour, or the other way round (every item of a
 * batch typed offline). What is left is returned, to be decided once the update is in
 * (`checkPlacedNeighbours`). A neighbour that is garbage makes the item garbage (Placement),
 * whatever the order.
 */
export function checkNeighbourOrder(placement: Placement): Refused | Neighbours[] {
  const unplaced: Neighbours[] = [];
  for (const item of placement.fresh) {
    const { origin, rightOrigin } = item;
    if (!origin || !rightOrigin) continue;
    if (!placement.isKnown(origin) || !placement.isKnown(rightOrigin)) {
      if (!touchedWhenWritten(placement, origin, rightOrigin)) {
        unplaced.push({ origin, rightOrigin });
      }
      continue;
    }
    const left = placement.structAt(origin);
    const right = placement.structAt(rightOrigin);
    if (!(left instanceof Y.Item) || !(right instanceof Y.Item)) continue;
    if (!liesBefore(left, origin, right, rightOrigin)) return crossed();
  }
  return unplaced;
}

/**
 * The same rule for `unplaced` (from `checkNeighbourOrder`), in `doc` once the update is in.
 * Yjs integrates an item's neighbours before the item and items never move, so the left one lies
 * before the right one in `doc` exactly when it did as Yjs integrated the item; every device that
 * applied the log in seq order holds them in the same order, so reaches the same verdict.
 */
export function checkPlacedNeighbours(doc: Y.Doc, unplaced: readonly Neighbours[]): Refused | null {
  for (const { origin, rightOrigin } of unplaced) {
    const left = structIn(doc, origin);
    const right = structIn(doc, rightOrigin);
    if (!(left instanceof Y.Item) || !(right instanceof Y.Item)) continue;
    if (!liesBefore(left, origin, right, rightOrigin)) return crossed();
  }
  return null;
}

/**
 * `checkPlacedNeighbours` without touching `doc`: on a copy of it with `update` applied. Costs
 * a copy of the whole document, which only an update `checkNeighbourOrder` left undecided pays.
 */
export function checkNeighboursApplied(
  doc: Y.Doc,
  update: Uint8Array,
  unplaced: readonly Neighbours[],
): Refused | null {
  if (unplaced.length === 0) return null;
  const copy = new Y.Doc();
  try {
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    Y.applyUpdate(copy, update);
    return checkPlacedNeighbours(copy, unplaced);
  } finally {
    copy.destroy();
  }
}

/**
 * Whether the update itself says that the left neighbour lies before the right one: they are
 * characters of one of its items in that order, or one of them is an item of the update written
 * with the other as its own neighbour. Holds once the update passed, as every item of it then
 * lies between its own neighbours (Yjs integrated those first, so no reasoning goes in circles).
 */
function touchedWhenWritten(placement: Placement, origin: Y.ID, rightOrigin: Y.ID): boolean {
  const left = placement.isKnown(origin) ? null : placement.structAt(origin);
  const right = placement.isKnown(rightOrigin) ? null : placement.structAt(rightOrigin);
  if (left !== null && left === right) return origin.clock < rightOrigin.clock;
  return (
    (left instanceof Y.Item && sameId(rightOf(left, origin), rightOrigin)) ||
    (right instanceof Y.Item && sameId(leftOf(right, rightOrigin), origin))
  );
}

/** The right neighbour the character `id` of `item` was written with. */
function rightOf(item: Y.Item, id: Y.ID): Y.ID | null {
  const next = id.clock + 1;
  return next < item.id.clock + item.length ? Y.createID(id.client, next) : item.rightOrigin;
}

/** The left neighbour the character `id` of `item` was written with. */
function leftOf(item: Y.Item, id: Y.ID): Y.ID | null {
  return id.clock > item.id.clock ? Y.createID(id.client, id.clock - 1) : item.origin;
}

function sameId(a: Y.ID | null, b: Y.ID): boolean {
  return a !== null && a.client === b.client && a.clock === b.clock;
}

function structIn(doc: Y.Doc, id: Y.ID): Y.Item | Y.GC {
  const structs = doc.store.clients.get(id.client)!;
  return structs[Y.findIndexSS(structs, id.clock)]!;
}

function crossed(): Refused {
  return new Refused(
    UpdateRefusal.malformed,
    'an item’s right neighbour does not lie after its left neighbour in the same list',
  );
}

/** Whether the character `leftId` (in `left`) lies before `rightId` (in `right`) in one list. */
function liesBefore(left: Y.Item, leftId: Y.ID, right: Y.Item, rightId: Y.ID): boolean {
  if (left === right) return leftId.clock < rightId.clock;
  for (let next = left.right; next !== null; next = next.right) {
    if (next === right) return true;
  }
  return false;
}
