import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  encodeUpdate,
  itemOverGc,
  mutualOrigins,
  pastSafeClocks,
  repeatedClient,
  selfOrigin,
  selfParent,
} from './testing/craftedUpdates.js';
import { checkUpdateShape, type KnownClock } from './updateShape.js';

const nothingKnown: KnownClock = () => 0;
const knownFrom =
  (doc: Y.Doc): KnownClock =>
  (client) =>
    Y.getState(doc.store, client);

/** The fault the shape check finds, or null when it accepts the update. */
function faultOf(update: Uint8Array, known: KnownClock): string | null {
  const shape = checkUpdateShape(update, known);
  return shape.ok ? null : shape.fault;
}

/** An update with structs and a non-empty delete set. */
function updateWithDeletes(): Uint8Array {
  const doc = new Y.Doc();
  const text = doc.getText('t');
  text.insert(0, 'hello world');
  text.delete(0, 6);
  return Y.encodeStateAsUpdate(doc);
}

describe('update shape', () => {
  it('accepts a complete update from scratch', () => {
    expect(faultOf(updateWithDeletes(), nothingKnown)).toBeNull();
  });

  it('accepts an incremental update that builds on what the replica has', () => {
    const client = new Y.Doc();
    client.getText('t').insert(0, 'first');
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
    const before = Y.encodeStateVector(client);
    client.getText('t').insert(5, ' and second');
    client.getText('t').delete(0, 2);
    const diff = Y.encodeStateAsUpdate(client, before);
    expect(faultOf(diff, knownFrom(server))).toBeNull();
  });

  it('refuses random bytes', () => {
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]);
    expect(faultOf(garbage, nothingKnown)).toBe('invalid-update');
  });

  it('refuses every truncation of a valid update, including a truncated delete set', () => {
    const update = updateWithDeletes();
    const refused = [];
    for (let length = 1; length < update.length; length++) {
      refused.push(faultOf(update.slice(0, length), nothingKnown));
    }
    expect(refused.every((reason) => reason !== null)).toBe(true);
  });

  it('refuses a whole struct section followed by a truncated delete set, which Yjs would half-apply', () => {
    const update = updateWithDeletes();
    // The delete set is the tail; cutting one byte leaves the structs whole.
    const truncated = update.slice(0, update.length - 1);
    const naive = new Y.Doc();
    expect(() => Y.applyUpdate(naive, truncated)).toThrow();
    expect(naive.getText('t').toString()).toBe('world');
    expect(faultOf(truncated, nothingKnown)).toBe('invalid-update');
  });

  it('refuses an update that continues a client the replica has not seen from the start', () => {
    const client = new Y.Doc();
    client.getText('t').insert(0, 'first');
    const before = Y.encodeStateVector(client);
    client.getText('t').insert(5, ' second');
    const diff = Y.encodeStateAsUpdate(client, before);
    expect(faultOf(diff, nothingKnown)).toBe('missing-dependencies');
  });

  it("refuses an update whose origin is another client's unknown change", () => {
    const a = new Y.Doc();
    a.getText('t').insert(0, 'from a');
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('t').insert(6, ' and b');
    const onlyB = Y.encodeStateAsUpdate(b, before);
    expect(faultOf(onlyB, nothingKnown)).toBe('missing-dependencies');
  });

  it('refuses deletions of items the replica does not have', () => {
    const a = new Y.Doc();
    a.getText('t').insert(0, 'secret');
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('t').delete(0, 3);
    const deletion = Y.encodeStateAsUpdate(b, before);
    expect(faultOf(deletion, nothingKnown)).toBe('missing-dependencies');
    expect(faultOf(deletion, knownFrom(a))).toBeNull();
  });

  it('accepts an update whose items name items of another client that come later in it', () => {
    const a = new Y.Doc();
    a.clientID = 1;
    a.getText('t').insert(0, 'from a');
    const b = new Y.Doc();
    b.clientID = 2;
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    b.getText('t').insert(3, ' b ');
    a.getText('t').insert(0, 'a again ');
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    b.getText('t').insert(0, '!');
    expect(faultOf(Y.encodeStateAsUpdate(b), nothingKnown)).toBeNull();
  });
});

describe('update validation of honest devices', () => {
  it('accepts every update of a seeded session with offline devices, merged batches and sync step 2s', () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const server = new Y.Doc();
    const devices = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
    const unsent = devices.map(() => [] as Uint8Array[]);
    const fromServer = Symbol('server');
    devices.forEach((doc, i) =>
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin !== fromServer) unsent[i]!.push(update);
      }),
    );
    const refused: string[] = [];
    const send = (update: Uint8Array): void => {
      const reason = faultOf(update, knownFrom(server));
      if (reason) refused.push(reason);
      else Y.applyUpdate(server, update);
    };
    for (let step = 0; step < 600; step++) {
      const i = Math.floor(random() * devices.length);
      const doc = devices[i]!;
      const text = doc.getText('notes');
      const list = doc.getArray<string>('list');
      const roll = random();
      if (roll < 0.4) text.insert(Math.floor(random() * (text.length + 1)), 'word ');
      else if (roll < 0.55 && text.length > 2)
        text.delete(Math.floor(random() * (text.length - 2)), 2);
      else if (roll < 0.65) doc.getMap('meta').set(`k${Math.floor(random() * 4)}`, step);
      else if (roll < 0.75) list.insert(0, [`item ${step}`]);
      else if (roll < 0.8 && list.length > 0) list.delete(0, 1);
      // Online devices send each change; offline ones send a merged batch, or their sync step 2.
      const way = random();
      if (way < 0.6) for (const update of unsent[i]!.splice(0)) send(update);
      else if (way < 0.7 && unsent[i]!.length > 0) send(Y.mergeUpdates(unsent[i]!.splice(0)));
      else if (way < 0.8) {
        unsent[i]!.length = 0;
        send(Y.encodeStateAsUpdate(doc, Y.encodeStateVector(server)));
      }
      if (random() < 0.3) {
        const j = Math.floor(random() * devices.length);
        const other = devices[j]!;
        Y.applyUpdate(other, Y.encodeStateAsUpdate(server, Y.encodeStateVector(other)), fromServer);
      }
    }
    expect(refused).toEqual([]);
  });
});

/** Applies updates to a fresh document in turn; returns what Yjs threw, or null. */
function yjsError(...updates: Uint8Array[]): string | null {
  const doc = new Y.Doc();
  try {
    for (const update of updates) Y.applyUpdate(doc, update);
    if (doc.store.pendingStructs || doc.store.pendingDs) return 'left pending';
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    doc.destroy();
  }
}

describe('update validation against crafted updates that break Yjs', () => {
  it('refuses an item that names itself as its origin', () => {
    const update = selfOrigin(7);
    expect(yjsError(update)).not.toBeNull();
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses an item that names itself as its parent', () => {
    const update = selfParent(7);
    expect(yjsError(update)).not.toBeNull();
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses an item that names a later item of its own client as its origin', () => {
    const update = encodeUpdate([
      {
        client: 7,
        clock: 0,
        structs: [{ text: 'a', origin: { client: 7, clock: 1 } }, { text: 'b' }],
      },
    ]);
    expect(yjsError(update)).not.toBeNull();
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses two items that name each other as origin', () => {
    const update = mutualOrigins(7, 8);
    expect(yjsError(update)).toBe('left pending');
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses an item whose known half sits on a garbage-collected struct (Yjs reads origin of undefined)', () => {
    const [gc, item] = itemOverGc(7);
    expect(yjsError(gc, item)).toMatch(/origin/);
    const server = new Y.Doc();
    Y.applyUpdate(server, gc);
    expect(faultOf(item, knownFrom(server))).toBe('missing-dependencies');
  });

  it('refuses clocks past 2^53, after which no fresh document could load the space', () => {
    const update = pastSafeClocks(7);
    // Yjs takes it, but the state it leaves cannot be loaded again.
    expect(yjsError(update)).toBeNull();
    const poisoned = new Y.Doc();
    Y.applyUpdate(poisoned, update);
    expect(yjsError(Y.encodeStateAsUpdate(poisoned))).toBe('Unexpected case');
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses deletions past 2^53', () => {
    const update = encodeUpdate(
      [{ client: 7, clock: 0, structs: [{ text: 'ab' }] }],
      [{ client: 7, ranges: [[2 ** 53, 2]] }],
    );
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });

  it('refuses a client that appears in two groups (Yjs keeps only the last)', () => {
    const update = repeatedClient(7);
    expect(yjsError(update)).toBe('left pending');
    expect(faultOf(update, nothingKnown)).toBe('invalid-update');
  });
});
