/*
 * Padding for what a partner's devices seal for themselves (an answer before its reveal, a
 * private check-in): 0x80, then zeros, to a multiple of PAD_BLOCK bytes, so the ciphertext's
 * length shows the other partner only which block the text falls in.
 */

export const PAD_BLOCK = 256;

export function pad(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil((bytes.length + 1) / PAD_BLOCK) * PAD_BLOCK);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  return padded;
}

/** The bytes before the padding, or null when `padded` is not padded as `pad` pads. */
export function unpad(padded: Uint8Array): Uint8Array | null {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80 || padded.length % PAD_BLOCK !== 0) return null;
  return padded.subarray(0, end);
}
