import type { Wording } from './schema.js';

const todo = (): never => {
  throw new Error('not implemented yet');
};

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

/** A word-level diff (whitespace runs are tokens too, so the parts rebuild both texts exactly). */
export function diffWords(_before: string, _after: string): DiffPart[] {
  return todo();
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
export function wordingChange(_before: Wording, _after: Wording): WordingChange {
  return todo();
}
