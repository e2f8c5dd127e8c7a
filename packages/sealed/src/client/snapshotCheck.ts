import * as Y from 'yjs';

/** Why a snapshot whose document does not decode is set aside. */
export const UNREADABLE_SNAPSHOT = 'the snapshot’s document cannot be read';

/**
 * Whether a document holds nothing at all: no items, no deletions, nothing waiting for what it
 * builds on. Nothing can be hidden from it, so a snapshot needs no `snapshotHides` read.
 */
export function holdsNothing(doc: Y.Doc): boolean {
  const { clients, pendingStructs, pendingDs } = doc.store;
  return clients.size === 0 && pendingStructs === null && pendingDs === null;
}

/**
 * A new document holding `state`, or null when `state` does not decode: the one read of a
 * snapshot taken into a log that holds nothing. Nothing else sees the document until it is whole.
 */
export function documentOf(state: Uint8Array, origin: unknown): Y.Doc | null {
  const doc = new Y.Doc();
  try {
    Y.applyUpdate(doc, state, origin);
  } catch {
    doc.destroy();
    return null;
  }
  return doc;
}

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
    return UNREADABLE_SNAPSHOT;
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
