import { KEY_BYTES, NONCE_BYTES } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { concatBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { aeadOpen, aeadSeal, boxOpen, boxSeal, hkdf, randomBytes } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import type { DeviceIdentity } from './identity.js';

/**
 * The invite secret and the welcome box (docs/protocol.md, "The welcome box and joining"). The
 * secret travels in the invite link's fragment only; the server sees the code derived from it
 * and stores the welcome box, and can neither open the box nor turn the code back into the secret.
 */

export type InviteSecret = Uint8Array & { readonly __brand: 'InviteSecret' };

const SECRET_BYTES = 32;
const CODE_BYTES = 16;
const WELCOME_VERSION = 1;
const NO_AAD = new Uint8Array(0);

export function newInviteSecret(): InviteSecret {
  return randomBytes(SECRET_BYTES) as InviteSecret;
}

/** The secret as it appears in the link (`#s=…`): 43 base64url characters. */
export function inviteSecretText(secret: InviteSecret): string {
  return toBase64Url(secret);
}

/** Reads the secret from a link; anything but 32 bytes in strict base64url is refused. */
export function parseInviteSecret(text: string): InviteSecret {
  return fromBase64Url(text, SECRET_BYTES) as InviteSecret;
}

/** The code the server checks when a device joins: 22 base64url characters. */
export function inviteCodeFor(secret: InviteSecret): string {
  return toBase64Url(hkdf(secret, 'mend/v1/invite-code', CODE_BYTES));
}

/** What the welcome box tells a joining device. */
export interface WelcomePayload {
  readonly epoch: number;
  readonly spaceKey: Uint8Array;
  readonly creatorSigningKey: Uint8Array;
  readonly creatorAgreementKey: Uint8Array;
}

export function encodeWelcomePayload(p: WelcomePayload): Uint8Array {
  for (const key of [p.spaceKey, p.creatorSigningKey, p.creatorAgreementKey]) {
    if (key.length !== KEY_BYTES) {
      throw new SealedError(SealedErrorReason.badKey, 'The welcome holds 32-byte keys.');
    }
  }
  if (!Number.isSafeInteger(p.epoch) || p.epoch < 1) {
    throw new SealedError(SealedErrorReason.malformed, 'Key epochs are whole numbers from 1.');
  }
  const e = encoding.createEncoder();
  encoding.writeUint8(e, WELCOME_VERSION);
  encoding.writeVarUint(e, p.epoch);
  encoding.writeUint8Array(e, p.spaceKey);
  encoding.writeUint8Array(e, p.creatorSigningKey);
  encoding.writeUint8Array(e, p.creatorAgreementKey);
  return encoding.toUint8Array(e);
}

export function decodeWelcomePayload(bytes: Uint8Array): WelcomePayload {
  const d = decoding.createDecoder(bytes);
  try {
    if (decoding.readUint8(d) !== WELCOME_VERSION) throw badWelcome();
    const epoch = decoding.readVarUint(d);
    if (!Number.isSafeInteger(epoch) || epoch < 1) throw badWelcome();
    if (bytes.length - d.pos !== KEY_BYTES * 3) throw badWelcome();
    return {
      epoch,
      spaceKey: decoding.readUint8Array(d, KEY_BYTES).slice(),
      creatorSigningKey: decoding.readUint8Array(d, KEY_BYTES).slice(),
      creatorAgreementKey: decoding.readUint8Array(d, KEY_BYTES).slice(),
    };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    throw badWelcome();
  }
}

function welcomeKey(secret: InviteSecret): Uint8Array {
  return hkdf(secret, 'mend/v1/welcome', KEY_BYTES);
}

/** nonce ‖ XChaCha20-Poly1305(welcome key, nonce, payload). */
export function sealWelcome(secret: InviteSecret, payload: WelcomePayload): Uint8Array {
  const { nonce, ciphertext } = aeadSeal(welcomeKey(secret), encodeWelcomePayload(payload), NO_AAD);
  return concatBytes(nonce, ciphertext);
}

export function openWelcome(secret: InviteSecret, box: Uint8Array): WelcomePayload {
  const plaintext = aeadOpen(
    welcomeKey(secret),
    box.subarray(0, NONCE_BYTES),
    box.subarray(NONCE_BYTES),
    NO_AAD,
  );
  if (!plaintext) {
    throw new SealedError(
      SealedErrorReason.badCiphertext,
      'This invite does not open the welcome for this space. Ask your partner for a new link.',
    );
  }
  return decodeWelcomePayload(plaintext);
}

/**
 * The space key boxed to one device, as converting a plaintext space hands it over
 * (docs/protocol.md, "Converting a plaintext space"): the welcome payload, sealed with `boxSeal`
 * to the device's agreement key instead of under an invite secret.
 */
export function sealKeyBox(recipientAgreementKey: Uint8Array, payload: WelcomePayload): Uint8Array {
  return boxSeal(recipientAgreementKey, encodeWelcomePayload(payload));
}

/**
 * What a key box sealed to `identity` says, or null when it was sealed to another key or
 * changed; a box that opens but holds no welcome payload throws a SealedError (`malformed`).
 */
export function openKeyBox(identity: DeviceIdentity, box: Uint8Array): WelcomePayload | null {
  const plaintext = boxOpen(identity.agreement.secretKey, identity.agreement.publicKey, box);
  return plaintext === null ? null : decodeWelcomePayload(plaintext);
}

function badWelcome(): SealedError {
  return new SealedError(SealedErrorReason.malformed, 'The welcome for this space is garbled.');
}
