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
