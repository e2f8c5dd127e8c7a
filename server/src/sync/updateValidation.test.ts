import { selfOrigin } from '@mend/model/testing';
import { CloseCode } from '@mend/protocol';
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { ProtocolViolation } from './ProtocolViolation.js';
import { checkUpdate, type KnownClock } from './updateValidation.js';

// What is checked lives in the model (packages/model/src/updateShape.test.ts); these tests pin
// how the room hears about it.

const nothingKnown: KnownClock = () => 0;

function violationOf(run: () => void): ProtocolViolation | null {
  try {
    run();
    return null;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolViolation);
    return error as ProtocolViolation;
  }
}

function textUpdate(doc: Y.Doc, text: string): Uint8Array {
  const before = Y.encodeStateVector(doc);
  doc.getText('t').insert(0, text);
  return Y.encodeStateAsUpdate(doc, before);
}

describe('update validation in the room', () => {
  it('lets a sound update through without throwing', () => {
    expect(violationOf(() => checkUpdate(textUpdate(new Y.Doc(), 'hello'), nothingKnown))).toBe(
      null,
    );
  });

  it("closes with 4400 'invalid-update' for an update that breaks Yjs", () => {
    const violation = violationOf(() => checkUpdate(selfOrigin(7), nothingKnown));
    expect(violation?.closeCode).toBe(CloseCode.badMessage);
    expect(violation?.reason).toBe('invalid-update');
  });

  it("closes with 4400 'missing-dependencies' for an update that builds on changes the server lacks", () => {
    const doc = new Y.Doc();
    textUpdate(doc, 'first');
    const violation = violationOf(() => checkUpdate(textUpdate(doc, 'second'), nothingKnown));
    expect(violation?.closeCode).toBe(CloseCode.badMessage);
    expect(violation?.reason).toBe('missing-dependencies');
  });
});
