import { fromBase64UrlEncoded, fromHexString, toBase64UrlEncoded, toHexString } from 'lib0/buffer';
import { digest } from 'lib0/hash/sha256';
import { SEALED_ANSWER_MAX_BYTES } from './schema.js';

/*
 * How a reveal's bytes sit in the document: a sealed answer as unpadded base64url, its key and
 * the key's commitment as lowercase hex (each byte string has exactly one text form, so a value
 * either reads back to the same bytes or is refused), and the commitment check.
 */

/** Key bytes of an answer (XChaCha20-Poly1305), and of its SHA-256 commitment. */
export const ANSWER_KEY_BYTES = 32;

/** The least a sealed answer can be: a 24-byte nonce and a 16-byte tag around one byte. */
export const SEALED_ANSWER_MIN_BYTES = 41;

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const HEX32 = /^[0-9a-f]{64}$/;

export function sealedText(bytes: Uint8Array): string {
  return toBase64UrlEncoded(bytes);
}

/** The sealed answer a stored text holds, or null if it is not one (or not in its one form). */
export function sealedBytes(text: unknown): Uint8Array | null {
  if (typeof text !== 'string' || !BASE64URL.test(text) || text.length % 4 === 1) return null;
  if (text.length > Math.ceil((SEALED_ANSWER_MAX_BYTES * 4) / 3)) return null;
  // A plain Uint8Array: in Node, lib0 decodes into a Buffer.
  const bytes = new Uint8Array(fromBase64UrlEncoded(text));
  if (toBase64UrlEncoded(bytes) !== text) return null;
  return isSealedAnswerLength(bytes.length) ? bytes : null;
}

export function isSealedAnswerLength(length: number): boolean {
  return length >= SEALED_ANSWER_MIN_BYTES && length <= SEALED_ANSWER_MAX_BYTES;
}

export function hex32(bytes: Uint8Array): string {
  return toHexString(bytes);
}

/** The 32 bytes a stored hex text holds, or null. */
export function hex32Bytes(text: unknown): Uint8Array | null {
  return typeof text === 'string' && HEX32.test(text) ? new Uint8Array(fromHexString(text)) : null;
}

/**
 * SHA-256 of an answer's key: what the author commits to when they answer, so that the key they
 * publish later can be checked by every device (the rule table does, on every remote update).
 * @mend/sealed computes the same with its own SHA-256 (crypto.ts); its tests hold the two equal.
 */
export function answerKeyCommitment(key: Uint8Array): Uint8Array {
  // A plain Uint8Array: in Node, lib0 may hash with node:crypto, which returns a Buffer.
  return new Uint8Array(digest(key));
}

/** Whether `key` (hex) is the one `commitment` (hex) was made for. */
export function opensCommitment(key: unknown, commitment: unknown): boolean {
  const k = hex32Bytes(key);
  return k !== null && typeof commitment === 'string' && hex32(digest(k)) === commitment;
}
