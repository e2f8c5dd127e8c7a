import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { diffWords, wordingChange, type DiffPart } from './diff.js';

const rebuild = (parts: readonly DiffPart[], keep: 'added' | 'removed') =>
  parts
    .filter((p) => p.kind === 'same' || p.kind === keep)
    .map((p) => p.text)
    .join('');

describe('word diff', () => {
  it('marks a replaced word as removed and added, keeping the rest the same', () => {
    expect(diffWords('I will call you daily', 'I will text you daily')).toEqual([
      { kind: 'same', text: 'I will ' },
      { kind: 'removed', text: 'call' },
      { kind: 'added', text: 'text' },
      { kind: 'same', text: ' you daily' },
    ]);
  });

  it('identical texts are one same part; empty texts have no parts', () => {
    expect(diffWords('a b', 'a b')).toEqual([{ kind: 'same', text: 'a b' }]);
    expect(diffWords('', '')).toEqual([]);
    expect(diffWords('', 'new')).toEqual([{ kind: 'added', text: 'new' }]);
  });

  it('the parts always rebuild both texts exactly', () => {
    const words = fc.string({
      unit: fc.constantFrom('a', 'b', ' ', '\n', 'é', '😀'),
      maxLength: 40,
    });
    fc.assert(
      fc.property(words, words, (before, after) => {
        const parts = diffWords(before, after);
        expect(rebuild(parts, 'removed')).toBe(before);
        expect(rebuild(parts, 'added')).toBe(after);
      }),
      { numRuns: 200 },
    );
  });

  it('wordingChange diffs title and body and says whether anything changed', () => {
    const change = wordingChange(
      { title: 'T', body: 'one two' },
      { title: 'T', body: 'one three' },
    );
    expect(change.changed).toBe(true);
    expect(change.title).toEqual([{ kind: 'same', text: 'T' }]);
    expect(change.body).toContainEqual({ kind: 'added', text: 'three' });
    expect(wordingChange({ title: 'T', body: 'b' }, { title: 'T', body: 'b' }).changed).toBe(false);
  });
});
