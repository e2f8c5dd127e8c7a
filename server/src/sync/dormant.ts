/**
 * A sleeping room's document, kept encoded, and what it can answer without being rebuilt: an
 * idle room keeps only this (a tenth of a live Y.Doc's memory), still answers sync step 1 from
 * it, and recognises a device's sync step 2 that would change nothing.
 */
import * as Y from 'yjs';

/** A sleeping room's document, encoded. */
export interface Dormant {
  update: Uint8Array;
  stateVector: Uint8Array;
  /** The state vector decoded, to recognise a device that holds exactly what the room holds. */
  clocks: Map<number, number>;
  /**
   * The document's "no structs, whole delete set" update: what a device already holding every
   * struct is sent, and what such a device sends back. Computed on first use.
   */
  deletions: Uint8Array | null;
}

export function dormantFrom(
  update: Uint8Array,
  stateVector: Uint8Array,
  deletions: Uint8Array | null,
): Dormant {
  return { update, stateVector, clocks: Y.decodeStateVector(stateVector), deletions };
}

/** Encoded state and its stored state vector, taken from bytes a store loaded. */
export function dormantFromStored(stored: Uint8Array): Dormant {
  return dormantFrom(stored, Y.encodeStateVectorFromUpdate(stored), null);
}

/** The bytes a dormant document holds in memory. */
export function dormantBytes(dormant: Dormant): number {
  return (
    dormant.update.byteLength +
    dormant.stateVector.byteLength +
    (dormant.deletions?.byteLength ?? 0)
  );
}

/**
 * A dormant room's answer to sync step 1, without rebuilding its document: a fresh device gets
 * the stored update as it is, an up-to-date one only the deletions, anyone else a diff.
 */
export function dormantDiff(
  dormant: Dormant,
  stateVector: Uint8Array,
  clocks: Map<number, number>,
): Uint8Array {
  if (clocks.size === 0) return dormant.update;
  if (sameClocks(clocks, dormant.clocks)) return dormantDeletions(dormant);
  return Y.diffUpdate(dormant.update, stateVector);
}

/**
 * Whether applying `update` to the dormant document would change nothing: it carries no structs
 * and only deletions the document already holds. False when unsure (the caller then applies it).
 */
export function changesNothing(dormant: Dormant, update: Uint8Array): boolean {
  // Structs, however old, are left to Yjs. An update without any starts with a zero count.
  if (update[0] !== 0) return false;
  const deletions = dormantDeletions(dormant);
  if (equalBytes(update, deletions)) return true;
  try {
    return equalBytes(Y.mergeUpdates([deletions, update]), deletions);
  } catch {
    return false;
  }
}

function dormantDeletions(dormant: Dormant): Uint8Array {
  dormant.deletions ??= Y.diffUpdate(dormant.update, dormant.stateVector);
  return dormant.deletions;
}

function sameClocks(a: Map<number, number>, b: Map<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [client, clock] of a) if (b.get(client) !== clock) return false;
  return true;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}
