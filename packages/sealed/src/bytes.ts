import { fromBase64UrlEncoded, toBase64UrlEncoded } from 'lib0/buffer';
import { SealedError, SealedErrorReason } from './errors.js';

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Byte equality. Not constant-time: use it for public values (hashes, public keys) only. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `bytes` begins with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && equalBytes(bytes.subarray(0, prefix.length), prefix);
}

/** Byte order, for sorting public keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Unpadded base64url (RFC 4648 section 5), as in invite links and stored keys. */
export function toBase64Url(bytes: Uint8Array): string {
  return toBase64UrlEncoded(bytes);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Reads unpadded base64url strictly: other characters, padding, an impossible length or unused
 * bits that are not zero are refused, so each byte string has exactly one text form. `length`,
 * when given, is the number of bytes expected.
 */
export function fromBase64Url(text: string, length?: number): Uint8Array {
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw notBase64Url();
  const bytes = fromBase64UrlEncoded(text);
  if (toBase64UrlEncoded(bytes) !== text) throw notBase64Url();
  if (length !== undefined && bytes.length !== length) {
    throw new SealedError(
      SealedErrorReason.malformed,
      `Expected ${length} bytes, got ${bytes.length}.`,
    );
  }
  return bytes;
}

function notBase64Url(): SealedError {
  return new SealedError(SealedErrorReason.malformed, 'That text is not in base64url.');
}
