import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { carryOver } from './carryOver.js';

/** A plaintext copy and a sealed state made from it (the genesis), as two documents. */
function copies(): { plain: Y.Doc; sealed: Y.Doc } {
  const plain = new Y.Doc();
  plain.getText('t').insert(0, 'hello world');
  const sealed = new Y.Doc();
  Y.applyUpdate(sealed, Y.encodeStateAsUpdate(plain));
  return { plain, sealed };
}

const text = (update: Uint8Array, base: Y.Doc) => {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  Y.applyUpdate(doc, update);
  return doc.getText('t').toString();
};

describe('carrying a plaintext copy over', () => {
  it('is null when the sealed state holds everything, documents or states alike', () => {
    const { plain, sealed } = copies();
    sealed.getText('t').insert(0, 'sealed since: ');
    expect(carryOver(plain, sealed)).toBeNull();
    expect(carryOver(Y.encodeStateAsUpdate(plain), Y.encodeStateAsUpdate(sealed))).toBeNull();
  });

  it('carries what was written offline, and brings the sealed state to the same text', () => {
    const { plain, sealed } = copies();
    plain.getText('t').insert(11, '!');
    for (const carried of [
      carryOver(plain, sealed),
      carryOver(Y.encodeStateAsUpdate(plain), Y.encodeStateAsUpdate(sealed)),
    ]) {
      expect(carried).not.toBeNull();
      expect(text(carried!, sealed)).toBe('hello world!');
    }
  });

  it('carries a deletion alone, which adds no struct', () => {
    const { plain, sealed } = copies();
    plain.getText('t').delete(0, 6);
    const carried = carryOver(plain, Y.encodeStateAsUpdate(sealed));
    expect(carried).not.toBeNull();
    expect(Y.decodeUpdate(carried!).structs).toEqual([]);
    expect(text(carried!, sealed)).toBe('world');
    // Once the sealed side has the deletion too, nothing is left to carry.
    Y.applyUpdate(sealed, carried!);
    expect(carryOver(plain, sealed)).toBeNull();
  });
});
