/**
 * The smallest single splice that turns `before` into `after`: the common prefix and suffix are
 * kept, so typing into one place of a co-edited text never overwrites what the partner is typing
 * elsewhere. Never splits a UTF-16 surrogate pair (an emoji stays whole).
 */
export interface Splice {
  index: number;
  remove: number;
  insert: string;
}

export function minimalSplice(before: string, after: string): Splice | null {
  if (before === after) return null;
  const limit = Math.min(before.length, after.length);
  let start = 0;
  while (start < limit && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  if (start > 0 && isHighSurrogate(before.charCodeAt(start - 1))) start--;

  let endBefore = before.length;
  let endAfter = after.length;
  while (
    endBefore > start &&
    endAfter > start &&
    before.charCodeAt(endBefore - 1) === after.charCodeAt(endAfter - 1)
  ) {
    endBefore--;
    endAfter--;
  }
  if (endBefore < before.length && isLowSurrogate(before.charCodeAt(endBefore))) {
    endBefore++;
    endAfter++;
  }
  return { index: start, remove: endBefore - start, insert: after.slice(start, endAfter) };
}

/**
 * Where a caret at `position` ends up after a remote change described by a Yjs text delta (whose
 * retains and deletes count positions of the text before the change).
 */
export function shiftPosition(
  position: number,
  delta: readonly { insert?: unknown; delete?: number; retain?: number }[],
): number {
  let index = 0;
  let result = position;
  for (const op of delta) {
    if (index > position) break;
    if (op.retain !== undefined) index += op.retain;
    else if (op.insert !== undefined) {
      // Text the partner inserts exactly at the caret lands after it: the caret stays put.
      if (index < position) result += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      result -= Math.min(op.delete, Math.max(0, position - index));
      index += op.delete;
    }
  }
  return Math.max(0, result);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
