import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { checkRemoteUpdate } from './authorship.js';
import { checkNeighbourOrder } from './neighbourOrder.js';
import { Placement } from './Placement.js';
import { encodeUpdate } from './testing/craftedUpdates.js';
import { checkUpdateShape, type KnownClock } from './updateShape.js';
import { A } from './testing/fixtures.js';

const known =
  (doc: Y.Doc): KnownClock =>
  (client) =>
    Y.getState(doc.store, client);

/** The structural checks of an update against a document: its shape, then its neighbours. */
function structuralFault(doc: Y.Doc, update: Uint8Array): string | null {
  const shape = checkUpdateShape(update, known(doc));
  if (!shape.ok) return shape.fault;
  return checkNeighbourOrder(new Placement(doc, shape.update, known(doc)))?.reason ?? null;
}

/** Client 1's "abcde" in `t` (clocks 0-4, one item each) and "xyz" in `u` (clocks 5-7). */
function base(): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = 1;
  for (const [i, c] of [...'abcde'].entries()) doc.getText('t').insert(i, c);
  for (const [i, c] of [...'xyz'].entries()) doc.getText('u').insert(i, c);
  return Y.encodeStateAsUpdate(doc);
}

/** One character of client 50 between two of client 1's characters. */
function crafted(origin: number, rightOrigin: number): Uint8Array {
  const item = {
    text: 'w',
    origin: { client: 1, clock: origin },
    rightOrigin: { client: 1, clock: rightOrigin },
  };
  return encodeUpdate([{ client: 50, clock: 0, structs: [item] }]);
}

/** An honest insert at `at` in `t`, written by `client` on the base. */
function honestInsert(client: number, at: number, text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.clientID = client;
  Y.applyUpdate(doc, base());
  const before = Y.encodeStateVector(doc);
  doc.getText('t').insert(at, text);
  return Y.encodeStateAsUpdate(doc, before);
}

function textAfter(updates: Uint8Array[]): { live: string; fresh: string } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, base());
  for (const update of updates) Y.applyUpdate(doc, update);
  const fresh = new Y.Doc();
  Y.applyUpdate(fresh, Y.encodeStateAsUpdate(doc));
  return { live: doc.getText('t').toString(), fresh: fresh.getText('t').toString() };
}

describe('neighbour order', () => {
  it('shows why: an item naming one character on both sides lands by the order of integration', () => {
    const updates = [crafted(1, 1), honestInsert(60, 1, 'X'), honestInsert(70, 2, 'Y')];
    const inOrder = textAfter(updates);
    const reordered = textAfter([updates[1]!, updates[0]!, updates[2]!]);
    expect(inOrder.live).not.toBe(reordered.live);
    // A fresh device loading the state sees other text than the device that applied it live.
    expect(inOrder.fresh).not.toBe(inOrder.live);
  });

  it('shows why: so does an item whose left neighbour lies after its right neighbour', () => {
    const updates = [crafted(2, 1), honestInsert(60, 2, 'X'), honestInsert(70, 3, 'Y')];
    expect(textAfter(updates).live).not.toBe(textAfter(updates).fresh);
  });

  it('refuses an item that names the same character on both sides, with or without the document', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, crafted(1, 1))).toBe('invalid-update');
  });

  it('refuses an item whose left neighbour lies after its right neighbour', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, crafted(2, 1))).toBe('malformed');
    expect(structuralFault(doc, crafted(4, 0))).toBe('malformed');
  });

  it('refuses the same inside one item of the document (one run of typed characters)', () => {
    const doc = new Y.Doc();
    doc.clientID = 1;
    doc.getText('t').insert(0, 'abc');
    expect(structuralFault(doc, crafted(2, 1))).toBe('malformed');
    expect(structuralFault(doc, crafted(0, 1))).toBeNull();
  });

  it('refuses an item whose neighbours are in different lists', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, crafted(1, 6))).toBe('malformed');
    expect(structuralFault(doc, crafted(6, 1))).toBe('malformed');
  });

  it('accepts neighbours that touch, and neighbours with characters between them', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, crafted(1, 2))).toBeNull();
    expect(structuralFault(doc, crafted(0, 4))).toBeNull();
  });

  it('refuses each crafted shape in checkRemoteUpdate, before the rule table', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const author = { partnerId: A, clientIds: new Set([50]) };
    for (const update of [crafted(1, 1), crafted(2, 1), crafted(1, 6)]) {
      expect(checkRemoteUpdate(doc, update, author)).toMatchObject({
        ok: false,
        reason: 'malformed',
      });
    }
  });
});

type Op =
  | { kind: 'text'; doc: number; at: number; text: string; remove: number }
  | { kind: 'array'; doc: number; at: number; remove: number }
  | { kind: 'map'; doc: number; key: string; remove: boolean }
  | { kind: 'sync'; from: number; to: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('text' as const),
    doc: fc.nat(2),
    at: fc.nat(40),
    text: fc.constantFrom('a', 'bc', 'hello ', 'ü'),
    remove: fc.nat(3),
  }),
  fc.record({
    kind: fc.constant('array' as const),
    doc: fc.nat(2),
    at: fc.nat(10),
    remove: fc.nat(2),
  }),
  fc.record({
    kind: fc.constant('map' as const),
    doc: fc.nat(2),
    key: fc.constantFrom('a', 'b', 'c'),
    remove: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('sync' as const), from: fc.nat(2), to: fc.nat(2) }),
);

function edit(doc: Y.Doc, o: Exclude<Op, { kind: 'sync' }>): void {
  if (o.kind === 'text') {
    const text = doc.getText('t');
    const at = o.at % (text.length + 1);
    if (o.remove > 0 && text.length > at) text.delete(at, Math.min(o.remove, text.length - at));
    else text.insert(at, o.text);
  } else if (o.kind === 'array') {
    const list = doc.getArray<unknown>('list');
    const at = o.at % (list.length + 1);
    if (o.remove > 0 && list.length > at) list.delete(at, 1);
    else list.insert(at, [at, new Y.Map()]);
  } else {
    const map = doc.getMap<unknown>('map');
    if (o.remove) map.delete(o.key);
    else map.set(o.key, o.key + doc.clientID);
  }
}

describe('neighbour order of honest edits', () => {
  it('accepts every update of random concurrent edits from 2-3 devices, exchanged in random orders', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 3 }), fc.array(op, { maxLength: 60 }), (n, ops) => {
        const docs = Array.from({ length: n }, (_, i) => {
          const doc = new Y.Doc();
          doc.clientID = 100 + i;
          return doc;
        });
        const deliver = (from: Y.Doc, to: Y.Doc) => {
          const update = Y.encodeStateAsUpdate(from, Y.encodeStateVector(to));
          expect(structuralFault(to, update)).toBeNull();
          Y.applyUpdate(to, update);
        };
        for (const o of ops) {
          if (o.kind === 'sync') {
            if (o.from % n !== o.to % n) deliver(docs[o.from % n]!, docs[o.to % n]!);
          } else {
            edit(docs[o.doc % n]!, o);
          }
        }
        for (const to of docs) for (const from of docs) if (from !== to) deliver(from, to);
        for (const doc of docs)
          expect(doc.getText('t').toString()).toBe(docs[0]!.getText('t').toString());
      }),
      { numRuns: 300 },
    );
  });
});
