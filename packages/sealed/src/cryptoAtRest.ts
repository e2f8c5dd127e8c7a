// The other half of the one crypto module (with crypto.ts): sealing a device's secrets at rest
// with WebCrypto alone. Apart so that reading a space's local copy loads no signing or encryption
// code (a module goes whole into one bundle chunk).
//
// ---- At rest: the device's secrets in IndexedDB (WebCrypto; see local/README.md)
//
// AES-256-GCM under a WebCrypto key generated non-extractable and stored, as a CryptoKey object,
// in the same database. What that buys depends on the browser: WebKit on Apple platforms wraps a
// stored CryptoKey with a master key held in the Keychain, so the database files alone do not
// give the key; Chromium and Firefox write the key's raw bytes into the same files, so there it
// keeps the key from page code (it cannot be exported) but not from someone who copies the
// files. docs/security.md says this in plain words.

const AT_REST_ALGORITHM = 'AES-GCM';
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

/** A fresh AES-256-GCM key that no script can export, only use. */
export async function createAtRestKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: AT_REST_ALGORITHM, length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
}

/**
 * `iv ‖ ciphertext ‖ tag`, with a random 12-byte IV per call. The label is authenticated (not
 * stored), so a sealed value only opens under the label it was sealed for. Random IVs are safe
 * here: a device seals its secrets a handful of times per key, far below GCM's 2^32 limit.
 */
export async function sealAtRest(
  key: CryptoKey,
  plaintext: Uint8Array,
  label: Uint8Array,
): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(GCM_IV_BYTES));
  const ciphertext = await crypto.subtle.encrypt(
    { name: AT_REST_ALGORITHM, iv, additionalData: arrayBacked(label) },
    key,
    arrayBacked(plaintext),
  );
  const sealed = new Uint8Array(GCM_IV_BYTES + ciphertext.byteLength);
  sealed.set(iv, 0);
  sealed.set(new Uint8Array(ciphertext), GCM_IV_BYTES);
  return sealed;
}

/** The plaintext of `sealAtRest`'s output; rejects if the bytes, key or label do not match. */
export async function openAtRest(
  key: CryptoKey,
  sealed: Uint8Array,
  label: Uint8Array,
): Promise<Uint8Array> {
  if (sealed.byteLength < GCM_IV_BYTES + GCM_TAG_BYTES) {
    throw new RangeError('a sealed value is at least an IV and a tag long');
  }
  const plaintext = await crypto.subtle.decrypt(
    {
      name: AT_REST_ALGORITHM,
      iv: arrayBacked(sealed.subarray(0, GCM_IV_BYTES)),
      additionalData: arrayBacked(label),
    },
    key,
    arrayBacked(sealed.subarray(GCM_IV_BYTES)),
  );
  return new Uint8Array(plaintext);
}

/** WebCrypto takes views of an ArrayBuffer only; a view of shared memory is copied out first. */
export function arrayBacked(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? (bytes as Uint8Array<ArrayBuffer>)
    : new Uint8Array(bytes);
}
