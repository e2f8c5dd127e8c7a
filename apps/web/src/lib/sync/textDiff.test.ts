import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { minimalSplice, shiftPosition } from './textDiff.js';

function apply(text: string, splice: ReturnType<typeof minimalSplice>): string {
  if (!splice) return text;
  return text.slice(0, splice.index) + splice.insert + text.slice(splice.index + splice.remove);
}

describe('minimal splice of a typed change', () => {
  it('keeps the common start and end, replacing only the changed middle', () => {
    expect(minimalSplice('I will call you', 'I will always call you')).toEqual({
      index: 7,
      remove: 0,
      insert: 'always ',
    });
    expect(minimalSplice('abcdef', 'abXYef')).toEqual({ index: 2, remove: 2, insert: 'XY' });
    expect(minimalSplice('same', 'same')).toBeNull();
  });

  it('never splits an emoji into half surrogate pairs', () => {
    const before = 'I feel 😀 today';
    const after = 'I feel 😢 today';
    const splice = minimalSplice(before, after);
    expect(splice).not.toBeNull();
    expect(apply(before, splice)).toBe(after);
    expect(splice?.insert).toBe('😢');
    expect(splice?.remove).toBe(2);
  });

  it('rebuilds the new text for any pair of texts', () => {
    const pairs: [string, string][] = [
      ['', 'hello'],
      ['hello', ''],
      ['aaa', 'aa'],
      ['abab', 'ab'],
      ['x😀y', 'x😀😀y'],
      ['line one\nline two', 'line one\nline 2\nline three'],
    ];
    for (const [before, after] of pairs)
      expect(apply(before, minimalSplice(before, after))).toBe(after);
  });

  it('lets two people typing in different places both keep their words', () => {
    const a = new Y.Doc();
    const b = new Y.Doc();
    const base = 'We talk every evening.';
    a.getText('body').insert(0, base);
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));

    const ta = a.getText('body');
    const tb = b.getText('body');
    const sa = minimalSplice(base, 'We talk every evening, honestly.')!;
    ta.delete(sa.index, sa.remove);
    ta.insert(sa.index, sa.insert);
    const sb = minimalSplice(base, 'We both talk every evening.')!;
    tb.delete(sb.index, sb.remove);
    tb.insert(sb.index, sb.insert);

    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    expect(ta.toString()).toBe('We both talk every evening, honestly.');
    expect(tb.toString()).toBe(ta.toString());
  });
});

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
