// The server's one use of a signature primitive: the recovery device proves it holds its key
// (docs/protocol.md, "Recovery kit"). @mend/sealed's verify is not part of its public API, so this
// module asks @noble/curves the same way packages/sealed/src/crypto.ts does, and nothing else in
// the server may (lint forbids @noble/* everywhere but here and in that module).
// eslint-disable-next-line no-restricted-imports
import { ed25519 } from '@noble/curves/ed25519.js';
import type { SpaceId } from '@mend/protocol';

/** Ed25519 public keys and signatures, in bytes. */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** What the recovery device signs: UTF-8 `"mend/v1/recover\0" ‖ spaceId ‖ "\0" ‖ challenge`. */
export function recoveryMessage(spaceId: SpaceId, challenge: string): Uint8Array {
  return new TextEncoder().encode(`mend/v1/recover\0${spaceId}\0${challenge}`);
}

/**
 * Whether `signature` is the recovery device's (`signingKey`) over the recovery message of this
 * space and challenge. Strict RFC 8032 verification (no ZIP-215 leniency, small-order keys
 * refused), as the devices verify: false, never a throw, for a key or signature of any shape.
 */
export function verifyRecoveryProof(
  signingKey: Uint8Array,
  spaceId: SpaceId,
  challenge: string,
  signature: Uint8Array,
): boolean {
  if (signingKey.length !== KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, recoveryMessage(spaceId, challenge), signingKey, {
      zip215: false,
    });
  } catch {
    return false;
  }
}
