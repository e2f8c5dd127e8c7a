import { KEY_BYTES, SIGNATURE_BYTES, type SpaceId } from '@mend/protocol';
import {
  agreementPublicKey,
  argon2id,
  hkdf,
  randomBytes,
  sha256,
  sign,
  signingPublicKey,
  verify,
} from './crypto.js';
import { concatBytes, equalBytes } from './bytes.js';
import { SealedError, SealedErrorReason } from './errors.js';
import type { IdentityWithBytes } from './identity.js';

/**
 * The recovery code and the recovery device's keys (docs/protocol.md, "Recovery kit"). The code
 * lives on paper or in a password manager and in the kit link's fragment only (`#r=`); the
 * server sees the recovery device's public keys and a signature, never the code or its keys.
 */

export type RecoveryCode = Uint8Array & { readonly __brand: 'RecoveryCode' };

const CODE_BYTES = 20;
const CODE_CHARACTERS = 32;
const GROUP = 4;
/** Crockford's base32: digits and capitals without I, L, O and U. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** What a person may write for a character, as Crockford decodes it. */
const READS_AS: Readonly<Record<string, string>> = { I: '1', L: '1', O: '0' };

/** OWASP's minimum for Argon2id: the code's 150 random bits, not the cost, keep guessers out. */
const RECOVERY_ARGON2 = { t: 2, m: 19_456, p: 1, dkLen: KEY_BYTES } as const;
const SALT_PREFIX = 'mend/v1/recovery/';
const SIGNING_INFO = 'mend/v1/recovery-signing';
const AGREEMENT_INFO = 'mend/v1/recovery-agreement';
const SIGNATURE_CONTEXT = 'mend/v1/recover\0';
/** The server's challenge: 22 characters of base64url (docs/protocol.md, "Recovering"). */
const CHALLENGE = /^[A-Za-z0-9_-]{22}$/;

const CHECK_CONTEXT = new TextEncoder().encode('mend/v1/recovery-check\0');

export function newRecoveryCode(): RecoveryCode {
  return checkedRecoveryCode(randomBytes(CODE_BYTES));
}

/**
 * `bytes` with their last 10 bits replaced by the check: the first 10 bits of
 * SHA-256("mend/v1/recovery-check\0" ‖ bytes with those 10 bits zero). A code keeps 150 random
 * bits, and a typo is caught on the device (any one wrong character always, others 1023 times
 * in 1024) before the slow derivation and a rate-limited server attempt are spent on it.
 */
export function checkedRecoveryCode(bytes: Uint8Array): RecoveryCode {
  if (bytes.length !== CODE_BYTES) {
    throw new SealedError(SealedErrorReason.malformed, 'A recovery code is 20 bytes.');
  }
  const code = bytes.slice();
  code[18] = code[18]! & 0xfc;
  code[19] = 0;
  const digest = sha256(concatBytes(CHECK_CONTEXT, code));
  const check = (digest[0]! << 2) | (digest[1]! >>> 6);
  code[18] = code[18]! | (check >>> 8);
  code[19] = check & 0xff;
  return code as RecoveryCode;
}

/**
 * The code as a person writes it down: 32 characters of Crockford base32 (the 160 bits in
 * order, five at a time, most significant first) in eight groups of four, `XXXX-XXXX-…`.
 */
export function formatRecoveryCode(code: RecoveryCode): string {
  if (code.length !== CODE_BYTES) {
    throw new SealedError(SealedErrorReason.malformed, 'A recovery code is 20 bytes.');
  }
  let characters = '';
  let bits = 0;
  let value = 0;
  for (const byte of code) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      characters += ALPHABET[(value >>> bits) & 31];
    }
    value &= (1 << bits) - 1;
  }
  const groups: string[] = [];
  for (let at = 0; at < characters.length; at += GROUP) {
    groups.push(characters.slice(at, at + GROUP));
  }
  return groups.join('-');
}

/**
 * Reads a recovery code as a person typed or pasted it: spaces, dashes and case do not matter,
 * I and L read as 1 and O as 0. Anything else that is not in the alphabet (U included), a code
 * of the wrong length, or one whose check does not hold (a typo), is refused with a sentence
 * that says what is wrong.
 */
export function parseRecoveryCode(text: string): RecoveryCode {
  const values: number[] = [];
  for (const typed of text.replace(/[\s-]/g, '')) {
    // ASCII only: toUpperCase would turn a dotless ı into I, or ß into SS.
    const upper = /^[a-z]$/.test(typed) ? typed.toUpperCase() : typed;
    const value = ALPHABET.indexOf(READS_AS[upper] ?? upper);
    if (value < 0) {
      throw new SealedError(
        SealedErrorReason.malformed,
        `“${typed}” is not in a recovery code, which has only digits and the letters A to Z without U.`,
      );
    }
    values.push(value);
  }
  if (values.length !== CODE_CHARACTERS) {
    throw new SealedError(
      SealedErrorReason.malformed,
      `A recovery code has ${CODE_CHARACTERS} letters and digits; this one has ${values.length}.`,
    );
  }
  const code = new Uint8Array(CODE_BYTES);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const digit of values) {
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      code[at++] = (value >>> bits) & 0xff;
      value &= (1 << bits) - 1;
    }
  }
  if (!equalBytes(checkedRecoveryCode(code), code)) {
    throw new SealedError(
      SealedErrorReason.malformed,
      'This code has a mistake in it: a character is not what the kit says. Please check each group again.',
    );
  }
  return code as RecoveryCode;
}

/** The space's recovery address, `<origin>/recover/<spaceId>`, where a fresh device recovers. */
export function recoveryAddress(origin: string, spaceId: SpaceId): string {
  return `${origin.replace(/\/+$/, '')}/recover/${spaceId}`;
}

/** The kit's link: the recovery address with the code in its fragment, which no server receives. */
export function recoveryKitLink(origin: string, spaceId: SpaceId, code: RecoveryCode): string {
  return `${recoveryAddress(origin, spaceId)}#r=${formatRecoveryCode(code)}`;
}

/**
 * The code in a kit link's fragment (`location.hash`, with or without its `#`), or null when the
 * fragment carries none; a code that is there but unreadable throws as `parseRecoveryCode` does.
 */
export function parseRecoveryFragment(hash: string): RecoveryCode | null {
  const text = new URLSearchParams(hash.replace(/^#/, '')).get('r');
  return text === null ? null : parseRecoveryCode(text);
}

/**
 * The recovery device's keys for this code in this space. Argon2id over 19 MiB makes this take
 * a second or more (several on a phone); it yields to the event loop while it works.
 */
export async function deriveRecoveryDevice(
  code: RecoveryCode,
  spaceId: SpaceId,
): Promise<IdentityWithBytes> {
  const key = await recoveryKey(code, spaceId);
  try {
    return recoveryDeviceFrom(key);
  } finally {
    key.fill(0);
  }
}

/** `m` of the protocol: Argon2id of the code, salted with the space. Exported for the vectors. */
export async function recoveryKey(code: RecoveryCode, spaceId: SpaceId): Promise<Uint8Array> {
  if (code.length !== CODE_BYTES) {
    throw new SealedError(SealedErrorReason.malformed, 'A recovery code is 20 bytes.');
  }
  return argon2id(code, SALT_PREFIX + spaceId, RECOVERY_ARGON2);
}

/** The recovery device's two key pairs from `m`. Exported for the vectors. */
export function recoveryDeviceFrom(key: Uint8Array): IdentityWithBytes {
  const signingSecret = hkdf(key, SIGNING_INFO, KEY_BYTES);
  const agreementSecret = hkdf(key, AGREEMENT_INFO, KEY_BYTES);
  return {
    signing: { secretKey: signingSecret, publicKey: signingPublicKey(signingSecret) },
    agreement: { secretKey: agreementSecret, publicKey: agreementPublicKey(agreementSecret) },
  };
}

/**
 * What the recovery device signs to take its seat back: `"mend/v1/recover\0" ‖ spaceId ‖ "\0" ‖
 * challenge`. A challenge not of the protocol's shape is refused rather than signed.
 */
export function recoverySignature(
  identity: IdentityWithBytes,
  spaceId: SpaceId,
  challenge: string,
): Uint8Array {
  if (!CHALLENGE.test(challenge)) {
    throw new SealedError(
      SealedErrorReason.malformed,
      'The server’s recovery challenge is not readable.',
    );
  }
  return sign(identity.signing.secretKey, recoveryMessage(spaceId, challenge));
}

/** Whether `signature` is the recovery device `signingKey`'s answer to `challenge`. */
export function verifyRecoverySignature(
  signingKey: Uint8Array,
  spaceId: SpaceId,
  challenge: string,
  signature: Uint8Array,
): boolean {
  if (!CHALLENGE.test(challenge) || signature.length !== SIGNATURE_BYTES) return false;
  return verify(signingKey, recoveryMessage(spaceId, challenge), signature);
}

function recoveryMessage(spaceId: SpaceId, challenge: string): Uint8Array {
  return new TextEncoder().encode(`${SIGNATURE_CONTEXT}${spaceId}\0${challenge}`);
}
