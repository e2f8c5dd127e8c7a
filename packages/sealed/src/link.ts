import { KEY_BYTES } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { concatBytes, fromBase64Url, toBase64Url } from './bytes.js';
import { boxOpen, boxSeal, hkdf, randomBytes } from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import type { DeviceIdentity } from './identity.js';
import { SEAT_SECRET_BYTES, type SeatSecret } from './reveal.js';

/**
 * The link secret, the link check and the link box (docs/protocol.md, "Linking a device"). The
 * secret travels in the link's fragment only (`#l=`); the server sees the code derived from it
 * and carries the box, and can neither open the box nor show both screens the same six digits
 * for a device of its own.
 */

export type LinkSecret = Uint8Array & { readonly __brand: 'LinkSecret' };

const SECRET_BYTES = 32;
const CODE_BYTES = 16;
const CHECK_INFO = new TextEncoder().encode('mend/v1/link-check');
const LINK_BOX_VERSION = 1;

export function newLinkSecret(): LinkSecret {
  return randomBytes(SECRET_BYTES) as LinkSecret;
}

/** The secret as it appears in the link (`#l=`): 43 base64url characters. */
export function linkSecretText(secret: LinkSecret): string {
  return toBase64Url(secret);
}

/** Reads the secret from a link; anything but 32 bytes in strict base64url is refused. */
export function parseLinkSecret(text: string): LinkSecret {
  return fromBase64Url(text, SECRET_BYTES) as LinkSecret;
}

/** The code the server keeps the link under: 22 base64url characters. */
export function linkCodeFor(secret: LinkSecret): string {
  return toBase64Url(hkdf(secret, 'mend/v1/link-code', CODE_BYTES));
}

/**
 * The six digits both screens show for the device that claimed the link: the new device from
 * its own keys, the existing one from the keys the server reports. Without the secret the server
 * cannot pick keys that show the same digits but by a one-in-a-million chance.
 */
export function linkCheck(
  secret: LinkSecret,
  signingKey: Uint8Array,
  agreementKey: Uint8Array,
): string {
  if (signingKey.length !== KEY_BYTES || agreementKey.length !== KEY_BYTES) {
    throw new SealedError(SealedErrorReason.badKey, 'A device’s keys are 32 bytes each.');
  }
  const bytes = hkdf(secret, concatBytes(CHECK_INFO, signingKey, agreementKey), 4);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  return String(n % 1_000_000).padStart(6, '0');
}

/** What the linking device hands the new one: every key it holds, the creator, the seat secret. */
export interface LinkBoxPayload {
  /** Every epoch's space key the linking device holds, each epoch once. */
  readonly epochs: readonly { readonly epoch: number; readonly spaceKey: Uint8Array }[];
  readonly creatorSigningKey: Uint8Array;
  readonly seatSecret: SeatSecret;
}

export function encodeLinkBoxPayload(p: LinkBoxPayload): Uint8Array {
  if (p.epochs.length === 0) throw badPayload('A link box holds at least one space key.');
  const seen = new Set<number>();
  for (const { epoch, spaceKey } of p.epochs) {
    if (!Number.isSafeInteger(epoch) || epoch < 1 || seen.has(epoch)) {
      throw badPayload('Key epochs are whole numbers from 1, each once.');
    }
    seen.add(epoch);
    if (spaceKey.length !== KEY_BYTES) throw badKey();
  }
  if (p.creatorSigningKey.length !== KEY_BYTES || p.seatSecret.length !== SEAT_SECRET_BYTES) {
    throw badKey();
  }
  const e = encoding.createEncoder();
  encoding.writeUint8(e, LINK_BOX_VERSION);
  encoding.writeVarUint(e, p.epochs.length);
  for (const { epoch, spaceKey } of p.epochs) {
    encoding.writeVarUint(e, epoch);
    encoding.writeUint8Array(e, spaceKey);
  }
  encoding.writeUint8Array(e, p.creatorSigningKey);
  encoding.writeUint8Array(e, p.seatSecret);
  return encoding.toUint8Array(e);
}

export function decodeLinkBoxPayload(bytes: Uint8Array): LinkBoxPayload {
  const d = decoding.createDecoder(bytes);
  const fixed = (n: number) => {
    if (bytes.length - d.pos < n) throw garbled();
    return decoding.readUint8Array(d, n).slice();
  };
  try {
    if (decoding.readUint8(d) !== LINK_BOX_VERSION) throw garbled();
    const n = decoding.readVarUint(d);
    // Each epoch takes at least 33 bytes: a count past what follows is not a link box.
    if (n === 0 || n > bytes.length) throw garbled();
    const epochs: { epoch: number; spaceKey: Uint8Array }[] = [];
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const epoch = decoding.readVarUint(d);
      if (!Number.isSafeInteger(epoch) || epoch < 1 || seen.has(epoch)) throw garbled();
      seen.add(epoch);
      epochs.push({ epoch, spaceKey: fixed(KEY_BYTES) });
    }
    if (bytes.length - d.pos !== KEY_BYTES + SEAT_SECRET_BYTES) throw garbled();
    return {
      epochs,
      creatorSigningKey: fixed(KEY_BYTES),
      seatSecret: fixed(SEAT_SECRET_BYTES) as SeatSecret,
    };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    throw garbled();
  }
}

/** The link box: the payload in a box only the new device's agreement key opens. */
export function sealLinkBox(
  recipientAgreementKey: Uint8Array,
  payload: LinkBoxPayload,
): Uint8Array {
  return boxSeal(recipientAgreementKey, encodeLinkBoxPayload(payload));
}

/**
 * What a link box sealed to `identity` holds, or null when it was sealed to another key or
 * changed; a box that opens but holds no link box payload throws a SealedError (`malformed`).
 */
export function openLinkBox(identity: DeviceIdentity, box: Uint8Array): LinkBoxPayload | null {
  const plaintext = boxOpen(identity.agreement.secretKey, identity.agreement.publicKey, box);
  return plaintext === null ? null : decodeLinkBoxPayload(plaintext);
}

function badKey(): SealedError {
  return new SealedError(SealedErrorReason.badKey, 'The link box holds 32-byte keys.');
}

function badPayload(message: string): SealedError {
  return new SealedError(SealedErrorReason.malformed, message);
}

function garbled(): SealedError {
  return new SealedError(SealedErrorReason.malformed, 'The keys sent to this device are garbled.');
}
