import * as Y from 'yjs';
import { covered } from './snapshotCheck.js';

/**
 * What a plaintext copy holds that a sealed state lacks, as one Yjs update, or null when it
 * lacks nothing (docs/protocol.md, "Converting a plaintext space"): the changes a device made
 * or received before it learnt that the space was sealed, which the genesis does not have. It
 * is `Y.encodeStateAsUpdate(plain, stateVector(sealed))`, so it also carries the plain copy's
 * whole delete set; null means no struct is missing and every deletion is already there.
 *
 * Both sides may be documents or Yjs states (v1 updates).
 */
export function carryOver(
  plain: Y.Doc | Uint8Array,
  sealed: Y.Doc | Uint8Array,
): Uint8Array | null {
  const vector =
    sealed instanceof Y.Doc ? Y.encodeStateVector(sealed) : Y.encodeStateVectorFromUpdate(sealed);
  const diff =
    plain instanceof Y.Doc ? Y.encodeStateAsUpdate(plain, vector) : Y.diffUpdate(plain, vector);
  const { structs, ds } = Y.decodeUpdate(diff);
  if (structs.some((s) => !(s instanceof Y.Skip))) return diff;
  const held =
    sealed instanceof Y.Doc
      ? Y.createDeleteSetFromStructStore(sealed.store).clients
      : Y.decodeUpdate(sealed).ds.clients;
  for (const [client, ranges] of ds.clients) {
    const covering = [...(held.get(client) ?? [])].sort((a, b) => a.clock - b.clock);
    if (ranges.some((r) => !covered(covering, r.clock, r.len))) return diff;
  }
  return null;
}
