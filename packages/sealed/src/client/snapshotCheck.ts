import * as Y from 'yjs';

/**
 * Whether a snapshot would hide something this document already holds: an item it does not
 * contain (the snapshot's state vector is behind ours for some client) or a deletion it does not
 * carry (it would bring deleted text back). Returns what it hides, in words, or null when the
 * snapshot holds everything this document holds. Content the snapshot adds beyond ours is what a
 * device catching up expects; its limits are in docs/security.md.
 */
export function snapshotHides(doc: Y.Doc, snapshotState: Uint8Array): string | null {
  let theirs: Map<number, number>;
  let deletions: Map<number, { clock: number; len: number }[]>;
  try {
    theirs = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(snapshotState));
    deletions = Y.decodeUpdate(snapshotState).ds.clients;
  } catch {
    return 'the snapshot’s document cannot be read';
  }
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) {
    if ((theirs.get(client) ?? 0) < clock) return `it leaves out changes of client ${client}`;
  }
  const ours = Y.createDeleteSetFromStructStore(doc.store);
  for (const [client, ranges] of ours.clients) {
    const covering = [...(deletions.get(client) ?? [])].sort((a, b) => a.clock - b.clock);
    for (const range of ranges) {
      if (!covered(covering, range.clock, range.len)) {
        return `it brings back deleted content of client ${client}`;
      }
    }
  }
  return null;
}

/** Whether the sorted, merged ranges cover [clock, clock + len). */
export function covered(
  ranges: readonly { clock: number; len: number }[],
  clock: number,
  len: number,
): boolean {
  let from = clock;
  const end = clock + len;
  for (const r of ranges) {
    if (r.clock > from) break;
    if (r.clock + r.len > from) from = r.clock + r.len;
    if (from >= end) return true;
  }
  return from >= end;
}
