import { KEY_BYTES, type SpaceId } from '@mend/protocol';
import { compareBytes, concatBytes } from './bytes.js';
import { sha256 } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';

const CONTEXT = new TextEncoder().encode('mend/v1/safety');

/**
 * The code two partners compare on their screens (docs/protocol.md, "Safety code"): the same
 * on both devices exactly when each holds the other's real signing key. Two groups of five
 * digits; each group is a 40-bit slice of SHA-256 taken modulo 100000, as Signal's safety
 * numbers are, so all ten digits carry information (about 33 bits in all).
 */
export function safetyCode(
  spaceId: SpaceId,
  signingKeyA: Uint8Array,
  signingKeyB: Uint8Array,
): string {
  if (signingKeyA.length !== KEY_BYTES || signingKeyB.length !== KEY_BYTES) {
    throw new SealedError(SealedErrorReason.badKey, 'A device signing key is 32 bytes.');
  }
  const [first, second] =
    compareBytes(signingKeyA, signingKeyB) <= 0
      ? [signingKeyA, signingKeyB]
      : [signingKeyB, signingKeyA];
  const digest = sha256(concatBytes(CONTEXT, new TextEncoder().encode(spaceId), first, second));
  return `${group(digest, 0)} ${group(digest, 5)}`;
}

function group(digest: Uint8Array, at: number): string {
  let n = 0;
  for (let i = at; i < at + 5; i++) n = n * 256 + (digest[i] ?? 0);
  return String(n % 100_000).padStart(5, '0');
}
