import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import { checkRemoteUpdate } from './authorship.js';
import { Refused } from './AuthorshipCheck.js';
import { checkNeighbourOrder, checkNeighboursApplied } from './neighbourOrder.js';
import { Placement } from './Placement.js';
import { encodeUpdate } from './testing/craftedUpdates.js';
import { checkUpdateShape, type KnownClock } from './updateShape.js';
import { agreementTexts, proposeAgreement } from './agreements.js';
import { A, B, T0, twoPartnerSpace } from './testing/fixtures.js';

const known =
  (doc: Y.Doc): KnownClock =>
  (client) =>
    Y.getState(doc.store, client);

/** What `checkNeighbourOrder` says of an update against a document (its shape sound). */
function beforeApplying(doc: Y.Doc, update: Uint8Array) {
  const shape = checkUpdateShape(update, known(doc));
  if (!shape.ok) throw new Error(shape.detail);
  return checkNeighbourOrder(new Placement(doc, shape.update, known(doc)));
}

/** The structural checks of an update against a document: its shape, then its neighbours. */
function structuralFault(doc: Y.Doc, update: Uint8Array): string | null {
  const shape = checkUpdateShape(update, known(doc));
  if (!shape.ok) return shape.fault;
  const unplaced = beforeApplying(doc, update);
  if (unplaced instanceof Refused) return unplaced.reason;
  return checkNeighboursApplied(doc, update, unplaced)?.reason ?? null;
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

type Id = { client: number; clock: number };
const one = (clock: number): Id => ({ client: 1, clock });
const own = (clock: number): Id => ({ client: 50, clock });

/** Characters of client 50 (clocks 0, 1...), each between the two neighbours given. */
function craftedRun(...neighbours: [origin: Id, rightOrigin: Id][]): Uint8Array {
  const structs = neighbours.map(([origin, rightOrigin], i) => ({
    text: 'vw'[i % 2]!,
    origin,
    rightOrigin,
  }));
  return encodeUpdate([{ client: 50, clock: 0, structs }]);
}

/** Client 50's character at `clock` between the two neighbours given. */
function ownAfter(clock: number, origin: Id, rightOrigin: Id): Uint8Array {
  return encodeUpdate([{ client: 50, clock, structs: [{ text: 'w', origin, rightOrigin }] }]);
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

/**
 * Counts the structs read through `placement`, one by one or in turn along a client's array
 * (`Placement.from`, which `structAt` goes through too).
 */
function countReads(placement: Placement): () => number {
  let reads = 0;
  const from = placement.from.bind(placement);
  vi.spyOn(placement, 'from').mockImplementation((client, clock) => {
    const { structs, index } = from(client, clock);
    const counted = new Proxy(structs, {
      get: (target, key, receiver) => {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    return { structs: counted, index };
  });
  return () => reads;
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

  it('accepts neighbours that touch, and neighbours around characters its writer need not have had', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, crafted(1, 2))).toBeNull();
    // X (client 60) between b and c, unseen by w's writer.
    Y.applyUpdate(doc, honestInsert(60, 2, 'X'));
    expect(structuralFault(doc, crafted(1, 2))).toBeNull();
    // b, c and d are older than e in client 1: a document holding e holds them.
    expect(structuralFault(doc, crafted(0, 4))).toBe('malformed');
  });

  it('shows why inside one update: an item naming two characters of the update in reverse lands by the order of integration', () => {
    // vvv (clocks 0-2) between a and b; w names the last v on its left and the middle one on
    // its right. An honest device that took them in types X after the second character.
    const crafted = encodeUpdate([
      {
        client: 20,
        clock: 0,
        structs: [
          { text: 'vvv', origin: one(0), rightOrigin: one(1) },
          { text: 'w', origin: { client: 20, clock: 2 }, rightOrigin: { client: 20, clock: 1 } },
        ],
      },
    ]);
    const live = new Y.Doc();
    Y.applyUpdate(live, base());
    Y.applyUpdate(live, crafted);
    const typist = new Y.Doc();
    typist.clientID = 90;
    Y.applyUpdate(typist, Y.encodeStateAsUpdate(live));
    const before = Y.encodeStateVector(typist);
    typist.getText('t').insert(3, 'X');
    Y.applyUpdate(live, Y.encodeStateAsUpdate(typist, before));
    const fresh = new Y.Doc();
    Y.applyUpdate(fresh, Y.encodeStateAsUpdate(live));
    expect(live.getText('t').toString()).not.toBe(fresh.getText('t').toString());
  });

  it('refuses an item whose right neighbour is an item of the same update lying before its left one', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, craftedRun([one(0), one(1)], [one(3), own(0)]))).toBe('malformed');
  });

  it('refuses an item whose left neighbour is an item of the same update lying after its right one', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    expect(structuralFault(doc, craftedRun([one(3), one(4)], [own(0), one(1)]))).toBe('malformed');
  });

  it('refuses an item between two items of the same update in the wrong order, or in one of them', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const crossedPair = craftedRun([one(0), one(1)], [one(3), one(4)], [own(1), own(0)]);
    expect(structuralFault(doc, crossedPair)).toBe('malformed');
    // One item of two characters (clocks 0 and 1), then one naming them in reverse.
    const run = encodeUpdate([
      {
        client: 50,
        clock: 0,
        structs: [
          { text: 'vv', origin: one(0), rightOrigin: one(1) },
          { text: 'w', origin: own(1), rightOrigin: own(0) },
        ],
      },
    ]);
    expect(structuralFault(doc, run)).toBe('malformed');
  });

  it('refuses an item whose neighbours are in different lists, one of them an item of the same update', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    // v lies in `u`, between x and y (clocks 5 and 6); b is in `t`.
    expect(structuralFault(doc, craftedRun([one(5), one(6)], [own(0), one(1)]))).toBe('malformed');
    expect(structuralFault(doc, craftedRun([one(5), one(6)], [one(1), own(0)]))).toBe('malformed');
  });

  it('refuses them all in checkRemoteUpdate, and leaves the document as it was', () => {
    const doc = twoPartnerSpace();
    const id = proposeAgreement(doc, { title: 'Phones', body: 'abcde', by: A, at: T0 });
    const body = agreementTexts(doc, id).body;
    const at = (i: number) => Y.createRelativePositionFromTypeIndex(body, i).item!;
    const [a, b, d, e] = [at(0), at(1), at(3), at(4)];
    const title = Y.createRelativePositionFromTypeIndex(agreementTexts(doc, id).title, 1).item!;
    const before = Y.encodeStateAsUpdate(doc);
    const author = { partnerId: A, clientIds: new Set([50]) };
    const updates = [
      craftedRun([a, b], [d, own(0)]),
      craftedRun([d, e], [own(0), b]),
      craftedRun([a, b], [title, own(0)]),
    ];
    for (const update of updates) {
      expect(checkRemoteUpdate(doc, update, author)).toEqual({
        ok: false,
        reason: 'malformed',
        detail: 'an item’s right neighbour does not lie after its left neighbour in the same list',
      });
    }
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
    // The same characters in order are the partner's to write.
    expect(checkRemoteUpdate(doc, craftedRun([a, b], [own(0), b]), author)).toEqual({ ok: true });
  });

  it('orders the neighbours of a batch typed offline without applying it ("ac", then "b" between)', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const typist = new Y.Doc();
    typist.clientID = 50;
    Y.applyUpdate(typist, base());
    const updates: Uint8Array[] = [];
    typist.on('update', (update: Uint8Array) => updates.push(update));
    typist.getText('t').insert(2, 'ac');
    typist.getText('t').insert(3, 'b');
    typist.getText('t').insert(2, 'z');
    const batch = Y.mergeUpdates(updates);
    expect(beforeApplying(doc, batch)).toEqual([]);
    expect(structuralFault(doc, batch)).toBeNull();
  });

  it('accepts, once applied, an honest batch whose author took in a partner’s character between two of its own', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const author = new Y.Doc();
    author.clientID = 50;
    Y.applyUpdate(author, base());
    const updates: Uint8Array[] = [];
    author.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin !== 'log') updates.push(update);
    });
    author.getText('t').insert(1, 'x');
    // A partner's y, concurrent with x, sequenced first; Yjs puts it after x (higher client id).
    const partnerY = honestInsert(200, 1, 'y');
    Y.applyUpdate(doc, partnerY);
    Y.applyUpdate(author, partnerY, 'log');
    expect(author.getText('t').toString()).toBe('axybcde');
    author.getText('t').insert(2, 'z'); // between x (its own) and y (the partner's)
    const batch = Y.mergeUpdates(updates);
    expect(beforeApplying(doc, batch)).toHaveLength(1);
    expect(structuralFault(doc, batch)).toBeNull();
  });

  it('shows why: neighbours in order around characters the writer already had land by the order of integration', () => {
    // v between d and e; then w between a and v, though b, c and d (clocks below d's, which v
    // names) lie between them. X (after d, written without v) and Y: a device that followed the
    // log, and a fresh one.
    const { live, fresh } = textAfter([
      craftedRun([one(3), one(4)]),
      ownAfter(1, one(0), own(0)),
      honestInsert(60, 4, 'X'),
      honestInsert(130, 2, 'Y'),
    ]);
    expect([live, fresh]).toEqual(['abYcdXwve', 'abYcdwvXe']);
  });

  it('refuses an item whose neighbours lie around characters it names, in checkRemoteUpdate, leaving the document as it was', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    Y.applyUpdate(doc, craftedRun([one(3), one(4)]));
    const before = Y.encodeStateAsUpdate(doc);
    const author = { partnerId: A, clientIds: new Set([50]) };
    expect(checkRemoteUpdate(doc, ownAfter(1, one(0), own(0)), author)).toEqual({
      ok: false,
      reason: 'malformed',
      detail: 'an item’s neighbours lie around characters its writer already had',
    });
    expect(Y.encodeStateAsUpdate(doc)).toEqual(before);
  });

  it('refuses an item whose neighbours lie around characters its writer had only through a chain of what it names', () => {
    // v' between d and e; v after v' (naming only v'); w between a and v: d is known through
    // v, then v', and b and c as older than d.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    Y.applyUpdate(doc, craftedRun([one(3), one(4)]));
    Y.applyUpdate(doc, ownAfter(1, own(0), one(4)));
    expect(structuralFault(doc, ownAfter(2, one(0), own(1)))).toBe('malformed');
    // An honest w between a and b, with b to e lying after it, passes.
    expect(structuralFault(doc, ownAfter(2, one(0), one(1)))).toBeNull();
  });

  it('refuses an item whose neighbours lie around an older character of a client whose later one its writer had', () => {
    // Client 60's p between b and c, then q after z in `u`. Client 50's o after q, then w
    // between b and c: p lies between; nothing names p, but w's writer had o, o names q, and a
    // document holding q holds p, client 60's earlier character.
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const sixty = encodeUpdate([
      {
        client: 60,
        clock: 0,
        structs: [
          { text: 'p', origin: one(1), rightOrigin: one(2) },
          { text: 'q', origin: one(7) },
        ],
      },
    ]);
    Y.applyUpdate(doc, sixty);
    Y.applyUpdate(
      doc,
      encodeUpdate([
        { client: 50, clock: 0, structs: [{ text: 'o', origin: { client: 60, clock: 1 } }] },
      ]),
    );
    expect(doc.getText('t').toString()).toBe('abpcde');
    expect(structuralFault(doc, ownAfter(1, one(1), one(2)))).toBe('malformed');
    // A writer that had not seen q writes between b and c concurrently with p.
    const unaware = encodeUpdate([
      { client: 51, clock: 0, structs: [{ text: 'w', origin: one(1), rightOrigin: one(2) }] },
    ]);
    expect(structuralFault(doc, unaware)).toBeNull();
  });

  it('refuses an item at the start or the end of a list with characters its writer had before or after it', () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, base());
    const at = (origin: Id | undefined, rightOrigin: Id | undefined) =>
      structuralFault(
        doc,
        encodeUpdate([{ client: 50, clock: 0, structs: [{ text: 'w', origin, rightOrigin }] }]),
      );
    // At the start, right of c: a and b lie before it, older than c. At the end, after c: d and
    // e lie after it, and a writer with nothing else need not have had them.
    expect(at(undefined, one(0))).toBeNull();
    expect(at(undefined, one(2))).toBe('malformed');
    expect(at(one(4), undefined)).toBeNull();
    expect(at(one(2), undefined)).toBeNull();
    // A writer whose earlier item (o, between x and y in `u`) names x had d and e: older than x.
    Y.applyUpdate(doc, ownAfter(0, one(5), one(6)));
    const afterC = encodeUpdate([
      { client: 50, clock: 1, structs: [{ text: 'w', origin: one(2) }] },
    ]);
    expect(structuralFault(doc, afterC)).toBe('malformed');
  });

  it('weighs the items of one client of an update with one walk over what its writer had', () => {
    // 300 structs of client 1 in `u` (each typed at the start), then "ab" in `t`; client 60's
    // y between a and b. Items of client 50 between a and b each have y between their
    // neighbours, and a writer that had b had all 300 structs.
    const doc = new Y.Doc();
    doc.clientID = 1;
    for (let i = 0; i < 300; i++) doc.getText('u').insert(0, 'u');
    doc.getText('t').insert(0, 'ab');
    const [a, b] = [0, 1].map((i) => ({ client: 1, clock: 300 + i }));
    Y.applyUpdate(
      doc,
      encodeUpdate([{ client: 60, clock: 0, structs: [{ text: 'y', origin: a, rightOrigin: b }] }]),
    );
    const lookUps = (items: number) => {
      const structs = Array.from({ length: items }, () => ({
        text: 'w',
        origin: a,
        rightOrigin: b,
      }));
      const update = encodeUpdate([{ client: 50, clock: 0, structs }]);
      const shape = checkUpdateShape(update, known(doc));
      if (!shape.ok) throw new Error(shape.detail);
      const placement = new Placement(doc, shape.update, known(doc));
      const reads = countReads(placement);
      expect(checkNeighbourOrder(placement)).toEqual([]);
      return reads();
    };
    expect(lookUps(1)).toBeGreaterThan(300);
    expect(lookUps(50)).toBeLessThan(lookUps(1) + 50 * 5);
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

type BatchOp =
  | { kind: 'edit'; edit: Exclude<Op, { kind: 'sync' }> }
  | { kind: 'send'; doc: number }
  | { kind: 'receive'; doc: number };

/** Edits near the start of short texts, so batches meet the partner's characters often. */
const nearbyEdit = fc.record({
  kind: fc.constant('text' as const),
  doc: fc.nat(2),
  at: fc.nat(4),
  text: fc.constantFrom('a', 'bc'),
  remove: fc.constantFrom(0, 0, 0, 1),
});

const batchOp: fc.Arbitrary<BatchOp> = fc.oneof(
  { weight: 3, arbitrary: nearbyEdit.map((edit) => ({ kind: 'edit' as const, edit })) },
  {
    weight: 1,
    arbitrary: op
      .filter((o): o is Exclude<Op, { kind: 'sync' }> => o.kind !== 'sync')
      .map((edit) => ({ kind: 'edit' as const, edit })),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('send' as const), doc: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receive' as const), doc: fc.nat(2) }) },
);

/**
 * Devices of a sealed space: each sends what it wrote since it last sent as one merged update
 * (an outbox, a batch typed offline) into one sequenced log, and takes the log in when it likes.
 */
class Sequenced {
  readonly log = new Y.Doc();
  readonly entries: { batch: Uint8Array; from: number }[] = [];
  readonly docs: { doc: Y.Doc; unsent: Uint8Array[]; cursor: number; tookIn: boolean }[];

  constructor(n: number) {
    this.docs = Array.from({ length: n }, (_, i) => {
      const doc = new Y.Doc();
      doc.clientID = 100 + i;
      const device = { doc, unsent: [] as Uint8Array[], cursor: 0, tookIn: false };
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== this) device.unsent.push(update);
      });
      return device;
    });
  }

  /** The merged batch and whether the device took anything in while writing it. */
  send(i: number): { batch: Uint8Array; tookIn: boolean } | null {
    const device = this.docs[i]!;
    if (device.unsent.length === 0) return null;
    const batch = Y.mergeUpdates(device.unsent.splice(0));
    const tookIn = device.tookIn;
    device.tookIn = false;
    this.entries.push({ batch, from: i });
    return { batch, tookIn };
  }

  receive(i: number): void {
    const device = this.docs[i]!;
    while (device.cursor < this.entries.length) {
      const { batch, from } = this.entries[device.cursor++]!;
      if (from === i) continue;
      Y.applyUpdate(device.doc, batch, this);
      device.tookIn ||= device.unsent.length > 0;
    }
  }
}

describe('neighbour order of honest batches', () => {
  it('accepts every merged batch of honest edits sequenced into one log, and decides it before applying unless its device took something in while writing it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 3 }),
        fc.array(batchOp, { minLength: 20, maxLength: 80 }),
        (n, ops) => {
          const space = new Sequenced(n);
          const send = (i: number) => {
            const sent = space.send(i);
            if (!sent) return;
            expect(structuralFault(space.log, sent.batch)).toBeNull();
            if (!sent.tookIn) expect(beforeApplying(space.log, sent.batch)).toEqual([]);
            Y.applyUpdate(space.log, sent.batch);
          };
          for (const o of ops) {
            if (o.kind === 'edit') edit(space.docs[o.edit.doc % n]!.doc, o.edit);
            else if (o.kind === 'send') send(o.doc % n);
            else space.receive(o.doc % n);
          }
          for (let i = 0; i < n; i++) send(i);
          for (let i = 0; i < n; i++) space.receive(i);
          const fresh = new Y.Doc();
          Y.applyUpdate(fresh, Y.encodeStateAsUpdate(space.log));
          for (const { doc } of space.docs) {
            expect(doc.getText('t').toString()).toBe(fresh.getText('t').toString());
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** Inserts and deletes near the start of an agreement's body, so that devices meet often. */
const bodyOp = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('edit' as const),
      device: fc.nat(2),
      at: fc.nat(5),
      text: fc.constantFrom('x', 'yz'),
      remove: fc.constantFrom(0, 0, 0, 1, 2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('send' as const), device: fc.nat(2) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('receive' as const), device: fc.nat(2) }) },
);

describe('neighbour order of honest partners in a space', () => {
  it('accepts, in checkRemoteUpdate against the sequenced log, every batch of devices inserting at the same places concurrently', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 3 }), fc.array(bodyOp, { maxLength: 60 }), (n, ops) => {
        const space = twoPartnerSpace();
        const id = proposeAgreement(space, { title: 'Phones', body: 'abcde', by: A, at: T0 });
        const log = new Y.Doc();
        Y.applyUpdate(log, Y.encodeStateAsUpdate(space));
        const entries: { batch: Uint8Array; from: number }[] = [];
        const devices = Array.from({ length: n }, (_, i) => {
          const doc = new Y.Doc();
          doc.clientID = 100 + i;
          Y.applyUpdate(doc, Y.encodeStateAsUpdate(space), 'log');
          const device = {
            doc,
            author: { partnerId: i % 2 === 0 ? A : B, clientIds: new Set([doc.clientID]) },
            unsent: [] as Uint8Array[],
            cursor: 0,
          };
          doc.on('update', (update: Uint8Array, origin: unknown) => {
            if (origin !== 'log') device.unsent.push(update);
          });
          return device;
        });
        const send = (i: number) => {
          const device = devices[i]!;
          if (device.unsent.length === 0) return;
          const batch = Y.mergeUpdates(device.unsent.splice(0));
          expect(checkRemoteUpdate(log, batch, device.author)).toEqual({ ok: true });
          Y.applyUpdate(log, batch);
          entries.push({ batch, from: i });
        };
        const receive = (i: number) => {
          const device = devices[i]!;
          for (; device.cursor < entries.length; device.cursor++) {
            const { batch, from } = entries[device.cursor]!;
            if (from !== i) Y.applyUpdate(device.doc, batch, 'log');
          }
        };
        for (const o of ops) {
          const i = o.device % n;
          if (o.kind === 'send') send(i);
          else if (o.kind === 'receive') receive(i);
          else {
            const body = agreementTexts(devices[i]!.doc, id).body;
            const at = o.at % (body.length + 1);
            if (o.remove > 0 && body.length > at) {
              body.delete(at, Math.min(o.remove, body.length - at));
            } else body.insert(at, o.text);
          }
        }
        for (let i = 0; i < n; i++) send(i);
        for (let i = 0; i < n; i++) receive(i);
        const fresh = new Y.Doc();
        Y.applyUpdate(fresh, Y.encodeStateAsUpdate(log));
        for (const { doc } of devices) {
          expect(agreementTexts(doc, id).body.toString()).toBe(
            agreementTexts(fresh, id).body.toString(),
          );
        }
      }),
      { numRuns: 300 },
    );
  });
});

/** The ids of `t`'s characters, left to right, deleted ones too. */
function characterIds(doc: Y.Doc): Id[] {
  const out: Id[] = [];
  for (let item = doc.getText('t')._start; item; item = item.right) {
    for (let i = 0; i < item.length; i++)
      out.push({ client: item.id.client, clock: item.id.clock + i });
  }
  return out;
}

/** A hostile device's try (neighbours picked among the log's characters, or none) or an honest step. */
const mixedStep = fc.oneof(
  fc.record({
    kind: fc.constant('crafted' as const),
    origin: fc.nat(30),
    rightOrigin: fc.nat(30),
    // A second item: none, between the same neighbours, or right after the first.
    second: fc.constantFrom('none', 'same', 'after'),
  }),
  fc.record({ kind: fc.constant('honest' as const), device: fc.nat(2), at: fc.nat(20) }),
  fc.record({ kind: fc.constant('receive' as const), device: fc.nat(2) }),
);

describe('neighbour order of crafted items among honest edits', () => {
  it('whatever passes, a device that followed the log shows what a fresh device loading it shows, in any order of loading', () => {
    fc.assert(
      fc.property(fc.array(mixedStep, { maxLength: 30 }), (steps) => {
        const log = new Y.Doc();
        Y.applyUpdate(log, base());
        const entries = [base()];
        const devices = [20, 60, 130].map((client) => {
          const doc = new Y.Doc();
          doc.clientID = client;
          Y.applyUpdate(doc, base());
          return doc;
        });
        const append = (update: Uint8Array) => {
          Y.applyUpdate(log, update);
          entries.push(update);
        };
        let clock = 0;
        for (const s of steps) {
          if (s.kind === 'crafted') {
            const ids = characterIds(log);
            const origin = ids[s.origin];
            const rightOrigin = ids[s.rightOrigin];
            const structs = [{ text: 'w', origin, rightOrigin }];
            if (s.second === 'same') structs.push({ text: 'v', origin, rightOrigin });
            if (s.second === 'after') structs.push({ text: 'v', origin: own(clock), rightOrigin });
            const update = encodeUpdate([{ client: 50, clock, structs }]);
            const fault = structuralFault(log, update);
            // What the log's checks kept of each writer (LogKnowledge.ts) changes no verdict.
            const copy = new Y.Doc();
            Y.applyUpdate(copy, Y.encodeStateAsUpdate(log));
            expect(fault).toBe(structuralFault(copy, update));
            if (fault !== null) continue;
            clock += structs.length;
            append(update);
          } else if (s.kind === 'honest') {
            const doc = devices[s.device]!;
            const before = Y.encodeStateVector(doc);
            doc.getText('t').insert(s.at % (doc.getText('t').length + 1), 'XYZ'[s.device]!);
            const update = Y.encodeStateAsUpdate(doc, before);
            expect(structuralFault(log, update)).toBeNull();
            append(update);
          } else {
            for (const update of entries) Y.applyUpdate(devices[s.device]!, update);
          }
        }
        const snapshot = new Y.Doc();
        Y.applyUpdate(snapshot, Y.encodeStateAsUpdate(log));
        const merged = new Y.Doc();
        Y.applyUpdate(merged, Y.mergeUpdates([...entries].reverse()));
        const backwards = new Y.Doc();
        for (const update of [...entries].reverse()) Y.applyUpdate(backwards, update);
        const live = log.getText('t').toString();
        expect([snapshot, merged, backwards].map((d) => d.getText('t').toString())).toEqual([
          live,
          live,
          live,
        ]);
      }),
      { numRuns: 1000 },
    );
  });
});
