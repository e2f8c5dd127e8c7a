import * as Y from 'yjs';
import { AuthorshipCheck, Refused, UpdateRefusal } from './AuthorshipCheck.js';
import type { PartnerId } from './ids.js';
import { checkNeighbourOrder, checkNeighboursApplied } from './neighbourOrder.js';
import { Placement } from './Placement.js';
import { ShapeFault, checkUpdateShape, type KnownClock, type ShapedUpdate } from './updateShape.js';

export { UpdateRefusal } from './AuthorshipCheck.js';

/**
 * Who sent an update: the partner, and the Yjs client ids their sending device owns (the
 * sealed layer decides which device owns which ids; the model only holds it to them).
 */
export interface UpdateAuthor {
  readonly partnerId: PartnerId;
  readonly clientIds: ReadonlySet<number>;
}

/**
 * The version of the rules `checkRemoteUpdate` applies (SPEC.md, "Rules versions"). A release
 * that changes what it accepts raises it, and keeps judging what the log holds before its rules
 * statement by the versions before.
 */
export const RULES_VERSION = 1;

export type UpdateVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: UpdateRefusal; readonly detail: string };

/**
 * Whether a remote update may be applied to `doc`: its shape is sound (checkUpdateShape), every
 * struct uses one of the author's client ids, and, by the rule table (SPEC.md, "Authorship"),
 * it inserts, changes or deletes nothing that belongs to the other partner or is written in
 * their name, rewrites nothing set once, deletes nothing from an append-only history, and
 * writes only places and values the schema has.
 *
 * `doc` must be the device's replica of the sequenced log: the accepted updates before this one,
 * in log order, and nothing else. Every device then reaches the same verdict. (The working
 * document, holding the device's own edits not yet sequenced, would not do: an update could be
 * judged against edits no other device has seen yet.)
 *
 * Pure: never throws, never changes `doc`. Cost: linear in the size of the update (decoding it,
 * and a few look-ups in `doc` per struct), so a keystroke costs the same in a 5 MB space as in
 * an empty one. An update with an item that has something between its neighbours (written
 * concurrently with a partner's at the same place, or crafted) also costs a walk over what its
 * writer had, at worst the document, once for each client. Only an update with an item whose
 * neighbours the update itself cannot order
 * (`checkNeighbourOrder`: a crafted one, or an honest batch whose author took in a partner's
 * edit between its own) is also applied to a copy of `doc`, to see where they landed.
 */
export function checkRemoteUpdate(
  doc: Y.Doc,
  update: Uint8Array,
  author: UpdateAuthor,
): UpdateVerdict {
  try {
    const known = (client: number) => Y.getState(doc.store, client);
    const read = readRemoteUpdate(update, author, known);
    if (read instanceof Refused) return refusal(read);
    const placement = new Placement(doc, read, known);
    const unplaced = checkNeighbourOrder(placement);
    if (unplaced instanceof Refused) return refusal(unplaced);
    const problem =
      new AuthorshipCheck(placement, author.partnerId).run() ??
      checkNeighboursApplied(doc, update, unplaced);
    return problem ? refusal(problem) : { ok: true };
  } catch {
    // A bug or an input no rule foresaw: refusing is the safe side, and says so.
    return { ok: false, reason: UpdateRefusal.malformed, detail: 'the update could not be read' };
  }
}

/** The checks the fast checker and the replica oracle share: shape, then client ids. */
export function readRemoteUpdate(
  update: Uint8Array,
  author: UpdateAuthor,
  known: KnownClock,
): ShapedUpdate | Refused {
  const shape = checkUpdateShape(update, known);
  if (!shape.ok) {
    const reason =
      shape.fault === ShapeFault.invalid
        ? UpdateRefusal.malformed
        : UpdateRefusal.missingDependencies;
    return new Refused(reason, shape.detail);
  }
  for (const struct of shape.update.structs) {
    if (struct instanceof Y.Skip || author.clientIds.has(struct.id.client)) continue;
    return new Refused(
      UpdateRefusal.foreignClient,
      `a change is written under client id ${struct.id.client}, which the author's device does not own`,
    );
  }
  return shape.update;
}

export function refusal(problem: Refused): UpdateVerdict {
  return { ok: false, reason: problem.reason, detail: problem.detail };
}
