import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { shiftPosition } from './textDiff.js';

describe('caret position across a partner edit', () => {
  it('moves the caret by what the partner inserted before it, not after it', () => {
    expect(shiftPosition(10, [{ retain: 2 }, { insert: 'abc' }])).toBe(13);
    expect(shiftPosition(10, [{ retain: 12 }, { insert: 'abc' }])).toBe(10);
    expect(shiftPosition(10, [{ retain: 10 }, { insert: 'abc' }])).toBe(10);
  });

  it('pulls the caret back by what the partner deleted before it', () => {
    expect(shiftPosition(10, [{ retain: 2 }, { delete: 3 }])).toBe(7);
    expect(shiftPosition(10, [{ retain: 8 }, { delete: 5 }])).toBe(8);
    expect(shiftPosition(3, [{ delete: 10 }])).toBe(0);
  });

  it('follows the caret through a real Yjs event', () => {
    const doc = new Y.Doc();
    const text = doc.getText('t');
    text.insert(0, 'hello world');
    let moved = -1;
    text.observe((event) => {
      moved = shiftPosition(
        6,
        event.delta as { insert?: unknown; delete?: number; retain?: number }[],
      );
    });
    text.insert(0, 'oh, ');
    expect(moved).toBe(10);
    expect(text.toString().slice(moved)).toBe('world');
  });
});
