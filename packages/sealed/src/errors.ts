/**
 * Why something sealed could not be opened or trusted. Every failure of this package is a
 * SealedError with one of these reasons and a message a person can read; no other exception
 * escapes for bad input.
 */
export const SealedErrorReason = {
  /** The bytes do not have the layout (of an envelope, a box, a payload, a stored key). */
  malformed: 'malformed',
  /** An envelope of another space. */
  otherSpace: 'otherSpace',
  /** The signature does not match the author and the bytes: changed, or forged. */
  badSignature: 'badSignature',
  /** The envelope names a key epoch this device does not hold. */
  unknownEpoch: 'unknownEpoch',
  /** The ciphertext does not open with the key: changed, or sealed with another key. */
  badCiphertext: 'badCiphertext',
  /** A public key that cannot be used (the wrong length, or of low order). */
  badKey: 'badKey',
  /** This device holds no keys for the space (never joined here, or they were removed). */
  noSecrets: 'noSecrets',
} as const;
export type SealedErrorReason = (typeof SealedErrorReason)[keyof typeof SealedErrorReason];

export class SealedError extends Error {
  override readonly name = 'SealedError';

  constructor(
    readonly reason: SealedErrorReason,
    message: string,
  ) {
    super(message);
  }
}
