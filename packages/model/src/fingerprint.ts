import { digest } from 'lib0/hash/sha256';
import * as string from 'lib0/string';

const HEX = '0123456789abcdef';

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 15]!;
  return out;
}

/**
 * The fingerprint of an agreement's wording: SHA-256 over title and body, length-prefixed so
 * that moving text between title and body changes it. Hex, 64 characters.
 */
export function wordingFingerprint(title: string, body: string): string {
  const t = string.encodeUtf8(title);
  const b = string.encodeUtf8(body);
  const data = new Uint8Array(8 + t.length + b.length);
  const view = new DataView(data.buffer);
  view.setUint32(0, t.length);
  data.set(t, 4);
  view.setUint32(4 + t.length, b.length);
  data.set(b, 8 + t.length);
  return hex(digest(data));
}

/** The fingerprint of a single text (a boundary). */
export function textFingerprint(text: string): string {
  return hex(digest(string.encodeUtf8(text)));
}
