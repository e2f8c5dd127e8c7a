import { CloseCode } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ProtocolViolation } from './ProtocolViolation.js';
import { checkUpdate, type KnownClock } from './updateValidation.js';

const nothingKnown: KnownClock = () => 0;
const knownFrom =
  (doc: Y.Doc): KnownClock =>
  (client) =>
    Y.getState(doc.store, client);

function reasonOf(run: () => void): string | null {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolViolation);
    expect((error as ProtocolViolation).closeCode).toBe(CloseCode.badMessage);
    return (error as ProtocolViolation).reason;
  }
}

/** An update with structs and a non-empty delete set. */
function updateWithDeletes(): Uint8Array {
  const doc = new Y.Doc();
  const text = doc.getText('t');
  text.insert(0, 'hello world');
  text.delete(0, 6);
  return Y.encodeStateAsUpdate(doc);
}

describe('update validation', () => {
  it('accepts a complete update from scratch', () => {
    expect(reasonOf(() => checkUpdate(updateWithDeletes(), nothingKnown))).toBeNull();
  });

  it('accepts an incremental update that builds on what the server has', () => {
    const client = new Y.Doc();
    client.getText('t').insert(0, 'first');
    const server = new Y.Doc();
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
    const before = Y.encodeStateVector(client);
    client.getText('t').insert(5, ' and second');
    client.getText('t').delete(0, 2);
    const diff = Y.encodeStateAsUpdate(client, before);
    expect(reasonOf(() => checkUpdate(diff, knownFrom(server)))).toBeNull();
  });

  it('refuses random bytes', () => {
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03]);
    expect(reasonOf(() => checkUpdate(garbage, nothingKnown))).toBe('invalid-update');
  });

  it('refuses every truncation of a valid update, including a truncated delete set', () => {
    const update = updateWithDeletes();
    const refused = [];
    for (let length = 1; length < update.length; length++) {
      refused.push(reasonOf(() => checkUpdate(update.slice(0, length), nothingKnown)));
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
    expect(reasonOf(() => checkUpdate(truncated, nothingKnown))).toBe('invalid-update');
  });

  it('refuses an update that continues a client the server has not seen from the start', () => {
    const client = new Y.Doc();
    client.getText('t').insert(0, 'first');
    const before = Y.encodeStateVector(client);
    client.getText('t').insert(5, ' second');
    const diff = Y.encodeStateAsUpdate(client, before);
    expect(reasonOf(() => checkUpdate(diff, nothingKnown))).toBe('missing-dependencies');
  });

  it("refuses an update whose origin is another client's unknown change", () => {
    const a = new Y.Doc();
    a.getText('t').insert(0, 'from a');
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('t').insert(6, ' and b');
    const onlyB = Y.encodeStateAsUpdate(b, before);
    expect(reasonOf(() => checkUpdate(onlyB, nothingKnown))).toBe('missing-dependencies');
  });

  it('refuses deletions of items the server does not have', () => {
    const a = new Y.Doc();
    a.getText('t').insert(0, 'secret');
    const b = new Y.Doc();
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const before = Y.encodeStateVector(b);
    b.getText('t').delete(0, 3);
    const deletion = Y.encodeStateAsUpdate(b, before);
    expect(reasonOf(() => checkUpdate(deletion, nothingKnown))).toBe('missing-dependencies');
    expect(reasonOf(() => checkUpdate(deletion, knownFrom(a)))).toBeNull();
  });
});
