import * as Y from 'yjs';
import { Refused, UpdateRefusal } from './AuthorshipCheck.js';
import { logKnowledge } from './LogKnowledge.js';
import type { Placement } from './Placement.js';
import {
  referencesOf,
  structsOf,
  WriterKnowledge,
  type ItemReferences,
  type Structs,
} from './WriterKnowledge.js';

/** A fresh item whose neighbours are both set: what it names (`origin`, `rightOrigin` not null). */
export interface Neighbours extends ItemReferences {
  readonly origin: Y.ID;
  readonly rightOrigin: Y.ID;
}

/**
 * Refuses an item whose neighbours (origin and right origin) do not lie as they did when an
 * honest device wrote it: the right one must lie after the left one in the same list, with
 * nothing between them that its writer already had (`WriterKnowledge`: what it names, its own
 * client's earlier items, and everything those name in turn). An honest item is made between two
 * neighbours that touch; its writer's document held all it knew, and the items of a document
 * that holds everything they name lie in the same order in any document that holds them, so no
 * item its writer had can lie between its neighbours, ever. Yjs's ordering (YATA) relies on it:
 * it takes what lies between an item's neighbours to be concurrent with the item. For a crafted
 * item that is not so, its walk never meets the right neighbour (or, with both in one item,
 * splits that item under the left one) or passes characters it should have lain beside, and
 * where the item lands then depends on the order updates were integrated in: the devices that
 * applied the log in seq order would show other text than a fresh device loading a snapshot,
 * whose encoding puts the same items in another order. An item that passes is one an honest
 * device could have written with just what its writer must have had, and YATA converges on
 * those.
 *
 * Where both neighbours are in the document (the log the check runs against), it is decided
 * here: a walk from the left neighbour to the right one, the same stretch Yjs walks when it
 * integrates the item; for a keystroke, one step, and nothing between to weigh. Only when
 * something lies between (concurrent edits, or a crafted item) is what the writer had worked
 * out, at worst one look-up per struct of the document. Where a neighbour is an item of the
 * update itself, it is decided here too when the update says the two touched: the right
 * neighbour was written with the left one as its own left neighbour, or the other way round
 * (every item of a batch typed offline). What is left is returned, to be decided once the update
 * is in (`checkPlacedNeighbours`). An item with one neighbour, in the document, is held to the
 * same with the list's end (or start) for the other. A neighbour that is garbage makes the item
 * garbage (Placement), whatever the order.
 */
export function checkNeighbourOrder(placement: Placement): Refused | Neighbours[] {
  const unplaced: Neighbours[] = [];
  const writers = new Writers(placement, (client) => logKnowledge(placement.log, client));
  for (const item of placement.fresh) {
    const { origin, rightOrigin } = item;
    if (!origin || !rightOrigin) {
      const neighbour = origin ?? rightOrigin;
      const problem =
        neighbour && placement.isKnown(neighbour)
          ? checkOpenEnd(writers, referencesOf(item))
          : null;
      if (problem) return problem;
      continue;
    }
    if (!placement.isKnown(origin) || !placement.isKnown(rightOrigin)) {
      if (!touchedWhenWritten(placement, origin, rightOrigin)) {
        unplaced.push({ ...referencesOf(item), origin, rightOrigin });
      }
      continue;
    }
    const problem = checkBetween(writers, { ...referencesOf(item), origin, rightOrigin });
    if (problem) return problem;
  }
  return unplaced;
}

/**
 * The same rule for `unplaced` (from `checkNeighbourOrder`), in `doc` once the update is in.
 * Yjs integrates an item's neighbours before the item and items never move, so the left one lies
 * before the right one in `doc` exactly when it did as Yjs integrated the item; every device that
 * applied the log in seq order holds them in the same order, so reaches the same verdict. What
 * lies between them now, the update's own later items too, is weighed the same way: an item its
 * writer had cannot lie between them in any document (`checkNeighbourOrder`).
 */
export function checkPlacedNeighbours(doc: Y.Doc, unplaced: readonly Neighbours[]): Refused | null {
  const writers = new Writers(structsOf(doc));
  for (const item of unplaced) {
    const problem = checkBetween(writers, item);
    if (problem) return problem;
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

/**
 * What the writers of an update's items had (`WriterKnowledge`), one for each client, grown
 * item by item: a hostile update of many items with something between their neighbours costs
 * one walk over the document for each of its clients, not one for each item.
 */
class Writers {
  readonly #structs: Structs;
  readonly #logKnowledge: (client: number) => WriterKnowledge | null;
  readonly #byClient = new Map<number, WriterKnowledge>();

  /**
   * `logKnowledge`: what a client had when it wrote its last item in the document, for items
   * that come after all of that client's in it (`LogKnowledge.ts`); none where the document
   * already holds the update (there a client's last item may come after the one weighed).
   */
  constructor(
    structs: Structs,
    logKnowledge: (client: number) => WriterKnowledge | null = () => null,
  ) {
    this.#structs = structs;
    this.#logKnowledge = logKnowledge;
  }

  /** The structs of the document (and update) the order is read in. */
  structAt(id: Y.ID): Y.Item | Y.GC {
    return this.#structs.structAt(id);
  }

  writing(item: ItemReferences): WriterKnowledge {
    let writer = this.#byClient.get(item.id.client);
    if (!writer?.canTake(item)) {
      writer = new WriterKnowledge(this.#structs, this.#logKnowledge(item.id.client));
      this.#byClient.set(item.id.client, writer);
    }
    return writer.writing(item);
  }
}

/**
 * The order rule for one item with both neighbours in the document `writers` reads: its right
 * neighbour lies after its left one in the same list, and nothing its writer had lies between.
 */
function checkBetween(writers: Writers, item: Neighbours): Refused | null {
  const left = writers.structAt(item.origin);
  const right = writers.structAt(item.rightOrigin);
  if (!(left instanceof Y.Item) || !(right instanceof Y.Item)) return null;
  if (!liesBefore(left, item.origin, right, item.rightOrigin)) return crossed();
  let writer: WriterKnowledge | undefined;
  for (const id of partsBetween(left, item.origin, right, item.rightOrigin)) {
    writer ??= writers.writing(item);
    if (writer.knows(id)) return knownBetween();
  }
  return null;
}

/**
 * The same for an item with one neighbour, at the end of its list (a left one only: a map
 * value's is the value it replaces) or at the start (a right one only): nothing its writer had
 * lies after, or before, it.
 */
function checkOpenEnd(writers: Writers, item: ItemReferences): Refused | null {
  const neighbourId = (item.origin ?? item.rightOrigin)!;
  const neighbour = writers.structAt(neighbourId);
  if (!(neighbour instanceof Y.Item)) return null;
  const beyond = item.origin
    ? partsAfter(neighbour, neighbourId)
    : partsBefore(neighbour, neighbourId);
  let writer: WriterKnowledge | undefined;
  for (const id of beyond) {
    writer ??= writers.writing(item);
    if (writer.knows(id)) return knownBetween();
  }
  return null;
}

function crossed(): Refused {
  return new Refused(
    UpdateRefusal.malformed,
    'an item’s right neighbour does not lie after its left neighbour in the same list',
  );
}

function knownBetween(): Refused {
  return new Refused(
    UpdateRefusal.malformed,
    'an item’s neighbours lie around characters its writer already had',
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

/** The first character of each run after `leftId` (in `left`) to the end of its list. */
function* partsAfter(left: Y.Item, leftId: Y.ID): Generator<Y.ID> {
  if (leftId.clock + 1 < left.id.clock + left.length) {
    yield Y.createID(leftId.client, leftId.clock + 1);
  }
  for (let next = left.right; next !== null; next = next.right) yield next.id;
}

/** The first character of each run before `rightId` (in `right`) from the start of its list. */
function* partsBefore(right: Y.Item, rightId: Y.ID): Generator<Y.ID> {
  if (rightId.clock > right.id.clock) yield right.id;
  for (let previous = right.left; previous !== null; previous = previous.left) yield previous.id;
}

/**
 * The first character of each run of characters between `leftId` and `rightId` (which lies
 * after it), deleted ones too: a client's characters in one item are consecutive clocks, so the
 * writer had some of a run exactly when it had the first.
 */
function* partsBetween(left: Y.Item, leftId: Y.ID, right: Y.Item, rightId: Y.ID): Generator<Y.ID> {
  const afterLeft = Y.createID(leftId.client, leftId.clock + 1);
  if (left === right) {
    if (afterLeft.clock < rightId.clock) yield afterLeft;
    return;
  }
  if (afterLeft.clock < left.id.clock + left.length) yield afterLeft;
  for (let next = left.right; next !== right && next !== null; next = next.right) yield next.id;
  if (rightId.clock > right.id.clock) yield right.id;
}
