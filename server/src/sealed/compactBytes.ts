/**
 * Bytes a sealed room holds for as long as a socket lives (its device's signing key, its latest
 * presence envelope), kept as a one-byte string: each byte one Latin-1 character, so nothing is
 * lost. A string is one small object in V8's heap; a `Uint8Array` as read from storage or cut
 * from a frame has an `ArrayBuffer` of its own besides, and an off-heap backing store with
 * V8's bookkeeping around it: about 0.3 KB more a value, twice a socket (memory per idle
 * couple, docs/benchmarks.md). Held bytes are read rarely (a presence when a device arrives, a
 * key when its stream leaves), compared often (a key against every envelope's author).
 */
export type CompactBytes = string & { readonly __brand: 'CompactBytes' };

/** A copy of `bytes` to hold. */
export function compactBytes(bytes: Uint8Array): CompactBytes {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString(
    'latin1',
  ) as CompactBytes;
}

/** The held bytes, as a new `Uint8Array` (a plain view, not a Buffer). */
export function expandBytes(held: CompactBytes): Uint8Array {
  const bytes = Buffer.from(held, 'latin1');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Whether `bytes` are the held bytes (without expanding them). */
export function isHeld(bytes: Uint8Array, held: CompactBytes): boolean {
  if (bytes.byteLength !== held.length) return false;
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== held.charCodeAt(i)) return false;
  return true;
}
