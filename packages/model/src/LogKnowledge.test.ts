import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Refused } from './AuthorshipCheck.js';
import { checkNeighbourOrder } from './neighbourOrder.js';
import { Placement } from './Placement.js';
import { encodeUpdate } from './testing/craftedUpdates.js';
import { checkUpdateShape, type KnownClock } from './updateShape.js';

const known =
  (doc: Y.Doc): KnownClock =>
  (client) =>
    Y.getState(doc.store, client);

/** `checkNeighbourOrder`'s refusal of `update` against `doc`, or null. */
function refusal(doc: Y.Doc, update: Uint8Array): string | null {
  const shape = checkUpdateShape(update, known(doc));
  if (!shape.ok) throw new Error(shape.detail);
  const verdict = checkNeighbourOrder(new Placement(doc, shape.update, known(doc)));
  return verdict instanceof Refused ? verdict.detail : null;
}

/** The same check against a new copy of `doc`: nothing kept from earlier checks. */
function refusalFromScratch(doc: Y.Doc, update: Uint8Array): string | null {
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
  return refusal(copy, update);
}

/** Each client's own document, brought up to `log` before it edits and sent to it after. */
function writers(log: Y.Doc) {
  const docs = new Map<number, Y.Doc>();
  return (client: number, edit: (doc: Y.Doc) => void): void => {
    let doc = docs.get(client);
    if (!doc) {
      doc = new Y.Doc();
      doc.clientID = client;
      docs.set(client, doc);
    }
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(log, Y.encodeStateVector(doc)));
    const before = Y.encodeStateVector(doc);
    edit(doc);
    Y.applyUpdate(log, Y.encodeStateAsUpdate(doc, before));
  };
}

/**
 * A log where client 2 knows client 1's "ab" in `r` only through its own item inside a nested
 * text: client 3 wrote "PQ", client 1 wrote "ab" between them, then a nested text under `m`
 * with "xy"; client 2 typed "q" after "y". A crafted item of client 2 between P and Q then lies
 * around "ab", which its writer had.
 */
function nestedKnowledge() {
  const log = new Y.Doc();
  const as = writers(log);
  as(3, (doc) => doc.getText('r').insert(0, 'PQ'));
  as(1, (doc) => {
    doc.getText('r').insert(1, 'ab');
    const nested = new Y.Text();
    doc.getMap('m').set('nested', nested);
    nested.insert(0, 'xy');
  });
  as(2, (doc) => (doc.getMap('m').get('nested') as Y.Text).insert(2, 'q'));
  const crafted = encodeUpdate([
    {
      client: 2,
      clock: Y.getState(log.store, 2),
      structs: [
        { text: 'w', origin: { client: 3, clock: 0 }, rightOrigin: { client: 3, clock: 1 } },
      ],
    },
  ]);
  return { log, crafted, as };
}

describe('what a writer had, kept between checks of one log', () => {
  it('gives the verdict a check from scratch gives', () => {
    const { log, crafted } = nestedKnowledge();
    expect(refusal(log, crafted)).toMatch(/characters its writer already had/);
    expect(refusal(log, crafted)).toBe(refusalFromScratch(log, crafted));
  });

  it('is forgotten when a type is deleted, as its items then name nothing', () => {
    const { log, crafted, as } = nestedKnowledge();
    expect(refusal(log, crafted)).not.toBeNull(); // what client 2 had is now kept
    // The nested text goes: client 2's "q" becomes garbage, and with it what it named.
    as(1, (doc) => doc.getMap('m').delete('nested'));
    const fromScratch = refusalFromScratch(log, crafted);
    expect(fromScratch).toBeNull();
    expect(refusal(log, crafted)).toBe(fromScratch);
  });

  it('grows with the log: a later item of the same client is weighed with what came since', () => {
    const { log, crafted, as } = nestedKnowledge();
    expect(refusal(log, crafted)).not.toBeNull();
    as(2, (doc) => doc.getText('s').insert(0, 'later'));
    const next = encodeUpdate([
      {
        client: 2,
        clock: Y.getState(log.store, 2),
        structs: [
          { text: 'w', origin: { client: 3, clock: 0 }, rightOrigin: { client: 3, clock: 1 } },
        ],
      },
    ]);
    expect(refusal(log, next)).toMatch(/characters its writer already had/);
    expect(refusal(log, next)).toBe(refusalFromScratch(log, next));
  });
});
