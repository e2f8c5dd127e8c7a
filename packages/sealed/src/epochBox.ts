import { isSpaceId, KEY_BYTES, type SpaceId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { boxOpen, boxSeal } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import type { KeyPair } from './crypto.js';

/**
 * The box an epoch statement carries for each device that stays (docs/protocol.md, "Removing a
 * device and new epochs"): `u8 version = 1`, `varString spaceId`, `varUint epoch`, `bytes[32]
 * spaceKey`, boxSeal to the device's agreement key. The space and epoch inside bind the key to
 * the statement, so a box lifted from another statement or space does not pass as this one's.
 */

export interface EpochBoxPayload {
  readonly spaceId: SpaceId;
  readonly epoch: number;
  readonly spaceKey: Uint8Array;
}

const EPOCH_BOX_VERSION = 1;

export function encodeEpochBoxPayload(p: EpochBoxPayload): Uint8Array {
  if (!isSpaceId(p.spaceId)) throw garbled('it names no space');
  if (!Number.isSafeInteger(p.epoch) || p.epoch < 1) throw garbled('epochs count from 1');
  if (p.spaceKey.length !== KEY_BYTES) {
    throw new SealedError(SealedErrorReason.badKey, 'A space key is 32 bytes.');
  }
  const e = encoding.createEncoder();
  encoding.writeUint8(e, EPOCH_BOX_VERSION);
  encoding.writeVarString(e, p.spaceId);
  encoding.writeVarUint(e, p.epoch);
  encoding.writeUint8Array(e, p.spaceKey);
  return encoding.toUint8Array(e);
}

export function decodeEpochBoxPayload(bytes: Uint8Array): EpochBoxPayload {
  const d = decoding.createDecoder(bytes);
  let payload: EpochBoxPayload;
  try {
    if (decoding.readUint8(d) !== EPOCH_BOX_VERSION) throw garbled('of an unknown version');
    const spaceId = decoding.readVarString(d);
    if (!isSpaceId(spaceId)) throw garbled('it names no space');
    const epoch = decoding.readVarUint(d);
    if (!Number.isSafeInteger(epoch) || epoch < 1) throw garbled('epochs count from 1');
    if (bytes.length - d.pos !== KEY_BYTES) throw garbled('its key is not 32 bytes');
    payload = { spaceId, epoch, spaceKey: decoding.readUint8Array(d, KEY_BYTES).slice() };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    throw garbled('it is cut short');
  }
  return payload;
}

/** The new key in a box only the holder of `agreementKey`'s secret opens. */
export function sealEpochBox(agreementKey: Uint8Array, payload: EpochBoxPayload): Uint8Array {
  return boxSeal(agreementKey, encodeEpochBoxPayload(payload));
}

/**
 * The key in a box sealed to `agreement`, when it holds one for `spaceId` and `epoch`; a
 * SealedError saying why not otherwise (sealed to another key, changed, garbled, or naming
 * another space or epoch).
 */
export function openEpochBox(
  agreement: KeyPair,
  box: Uint8Array,
  expected: { readonly spaceId: SpaceId; readonly epoch: number },
): Uint8Array | SealedError {
  const plaintext = boxOpen(agreement.secretKey, agreement.publicKey, box);
  if (plaintext === null) {
    return new SealedError(
      SealedErrorReason.badCiphertext,
      'The new key was not sealed to this device, or was changed on the way.',
    );
  }
  let payload: EpochBoxPayload;
  try {
    payload = decodeEpochBoxPayload(plaintext);
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
  if (payload.spaceId !== expected.spaceId || payload.epoch !== expected.epoch) {
    return new SealedError(
      SealedErrorReason.malformed,
      `The box holds a key for ${payload.spaceId === expected.spaceId ? `epoch ${payload.epoch}` : 'another space'}, not for this statement.`,
    );
  }
  return payload.spaceKey;
}

function garbled(why: string): SealedError {
  return new SealedError(SealedErrorReason.malformed, `A new key’s box is garbled: ${why}.`);
}
