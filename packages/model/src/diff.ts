import type { Wording } from './schema.js';

export const DiffKind = {
  same: 'same',
  added: 'added',
  removed: 'removed',
} as const;
export type DiffKind = (typeof DiffKind)[keyof typeof DiffKind];

/** A run of text; concatenating `same` + `removed` gives the old text, `same` + `added` the new. */
export interface DiffPart {
  readonly kind: DiffKind;
  readonly text: string;
}

/** Past this many LCS cells the middle is shown as one removal and one addition. */
const MAX_CELLS = 4_000_000;

function tokens(text: string): string[] {
  return text.match(/\s+|\S+/g) ?? [];
}

function push(parts: DiffPart[], kind: DiffKind, text: string): void {
  if (text === '') return;
  const last = parts[parts.length - 1];
  if (last && last.kind === kind) parts[parts.length - 1] = { kind, text: last.text + text };
  else parts.push({ kind, text });
}

/** A word-level diff (whitespace runs are tokens too, so the parts rebuild both texts exactly). */
export function diffWords(before: string, after: string): DiffPart[] {
  const a = tokens(before);
  const b = tokens(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (
    end < a.length - start &&
    end < b.length - start &&
    a[a.length - 1 - end] === b[b.length - 1 - end]
  ) {
    end++;
  }
  const parts: DiffPart[] = [];
  push(parts, DiffKind.same, a.slice(0, start).join(''));
  const midA = a.slice(start, a.length - end);
  const midB = b.slice(start, b.length - end);
  const n = midA.length;
  const m = midB.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    push(parts, DiffKind.removed, midA.join(''));
    push(parts, DiffKind.added, midB.join(''));
  } else {
    // lcs[i * (m + 1) + j] = length of the LCS of midA[i..] and midB[j..].
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * w + j] =
          midA[i] === midB[j]
            ? lcs[(i + 1) * w + j + 1]! + 1
            : Math.max(lcs[(i + 1) * w + j]!, lcs[i * w + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        push(parts, DiffKind.same, midA[i++]!);
        j++;
      } else if (j >= m || (i < n && lcs[(i + 1) * w + j]! >= lcs[i * w + j + 1]!)) {
        push(parts, DiffKind.removed, midA[i++]!);
      } else {
        push(parts, DiffKind.added, midB[j++]!);
      }
    }
  }
  push(parts, DiffKind.same, a.slice(a.length - end).join(''));
  return parts;
}

export interface WordingChange {
  readonly before: Wording;
  readonly after: Wording;
  readonly title: readonly DiffPart[];
  readonly body: readonly DiffPart[];
  /** False when both wordings are identical. */
  readonly changed: boolean;
}

/** What changed between two wordings of an agreement. */
export function wordingChange(before: Wording, after: Wording): WordingChange {
  return {
    before: { title: before.title, body: before.body },
    after: { title: after.title, body: after.body },
    title: diffWords(before.title, after.title),
    body: diffWords(before.body, after.body),
    changed: before.title !== after.title || before.body !== after.body,
  };
}
