import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, randomBytes as systemRandomBytes } from '@noble/hashes/utils.js';
import { KEY_BYTES, NONCE_BYTES, SIGNATURE_BYTES } from '@mend/protocol';
import { concatBytes, equalBytes, toBase64Url } from './bytes.js';
import { arrayBacked } from './cryptoAtRest.js';
import { SealedError, SealedErrorReason } from './errors.js';

/**
 * The one module that calls cryptographic primitives (docs/protocol.md, "Keys"): audited
 * @noble code, composed here and nowhere else (lint forbids @noble/* in every other file).
 * Everything is pure JavaScript, so the browser and Node run the same code, and synchronous but
 * Argon2id, which takes seconds on a phone and so hands the event loop back as it goes. The
 * platform's WebCrypto is used in three places, each giving exactly what noble would, faster:
 * `vouchFor` only ever says yes where noble would, `sha256PrefixAndWhole` hands large digests to
 * the platform's SHA-256, which has the same answer, and `signSoon` signs with the platform's
 * Ed25519, which is deterministic and checked against noble's once per key. A device's signing
 * key is held by the platform alone where it can be (`platformSigningKeys`): then only the
 * platform signs with it.
 */

export const TAG_BYTES = 16;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * A device's Ed25519 key pair: with its bytes (`secretKey`, RFC 8032's 32-byte seed) while the
 * device holds them, or held by the platform alone (`platformKey`, a non-extractable WebCrypto
 * key, `platformSigningKeys`), with no bytes anywhere: then only the platform signs.
 */
export interface SigningKeys {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array | null;
  readonly platformKey?: CryptoKey;
}

/** A sealed AEAD message in its two pieces, as an envelope lays them out. */
export interface Sealed {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export type RandomSource = (length: number) => Uint8Array;

let random: RandomSource = systemRandomBytes;

/**
 * Runs `fn` with a fixed random source, for known-answer tests only. Production code never
 * imports this (lint forbids it outside tests and testkit.ts); the source is restored even if
 * `fn` throws, and nothing here is asynchronous, so it cannot leak into other work.
 */
export function withRandomSource<T>(source: RandomSource, fn: () => T): T {
  const previous = random;
  random = source;
  try {
    return fn();
  } finally {
    random = previous;
  }
}

export function randomBytes(length: number): Uint8Array {
  const bytes = random(length);
  if (bytes.length !== length) throw new Error('the random source returned the wrong length');
  return bytes;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes);
}

/** SHA-256 of some bytes, which can then go on over more bytes without reading the first again. */
export interface ContinuableSha256 {
  readonly digest: Uint8Array;
  /** SHA-256 of the first bytes ‖ `more`. Call it once. */
  continueWith(more: Uint8Array): Uint8Array;
}

/**
 * An envelope is signed over the digest of its signed part and identified by the digest of all
 * its bytes; this gives both in one pass over a payload that may be megabytes long.
 */
export function sha256Continuable(bytes: Uint8Array): ContinuableSha256 {
  const state = nobleSha256.create().update(bytes);
  return {
    digest: state.clone().digest(),
    continueWith: (more) => state.update(more).digest(),
  };
}

/**
 * From this size on, a digest that can wait is left to the platform's SHA-256 (WebCrypto: native
 * code, run off the JavaScript thread): for a five-year space's snapshot envelope (2.3 MB) noble
 * takes 16–25 ms, the platform 3–9 ms for both digests (docs/benchmarks.md, "Cold load on a
 * fresh device: where the time goes"). Below it, handing the bytes over costs more than noble's
 * microseconds.
 */
const PLATFORM_DIGEST_FROM = 64 * 1024;

/**
 * `sha256Continuable(whole.subarray(0, prefixLength))`'s two digests, for a caller that can wait
 * (verifying ahead): SHA-256 of the prefix and of all of `whole`. Large inputs go to the
 * platform's SHA-256 where it has one, small ones and any the platform fails on to noble; SHA-256
 * has one answer, so the digests are the same either way.
 */
export async function sha256PrefixAndWhole(
  whole: Uint8Array,
  prefixLength: number,
): Promise<{ readonly prefix: Uint8Array; readonly whole: Uint8Array }> {
  if (!Number.isSafeInteger(prefixLength) || prefixLength < 0 || prefixLength > whole.length) {
    throw new RangeError('the prefix must lie within the bytes');
  }
  const prefix = whole.subarray(0, prefixLength);
  if (platformSubtle && whole.length >= PLATFORM_DIGEST_FROM) {
    try {
      const backed = arrayBacked(whole);
      const [first, all] = await Promise.all([
        platformSubtle.digest('SHA-256', backed.subarray(0, prefixLength)),
        platformSubtle.digest('SHA-256', backed),
      ]);
      return { prefix: new Uint8Array(first), whole: new Uint8Array(all) };
    } catch {
      // No platform SHA-256 after all (or it refused these bytes): noble below.
    }
  }
  const digest = sha256Continuable(prefix);
  return { prefix: digest.digest, whole: digest.continueWith(whole.subarray(prefixLength)) };
}

const utf8 = new TextEncoder();

/** HKDF-SHA256. Mend always uses an empty salt; `salt` exists for the RFC 5869 vectors. */
export function hkdf(
  ikm: Uint8Array,
  info: string | Uint8Array,
  length: number,
  salt: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return nobleHkdf(
    nobleSha256,
    ikm,
    salt,
    typeof info === 'string' ? utf8.encode(info) : info,
    length,
  );
}

/** Argon2id's costs: `t` passes over `m` KiB of memory in `p` lanes, for `dkLen` bytes. */
export interface Argon2Cost {
  readonly t: number;
  readonly m: number;
  readonly p: number;
  readonly dkLen: number;
}

/** How long Argon2id computes before it yields, so a page keeps answering taps meanwhile. */
const ARGON2_TICK_MS = 10;

/**
 * Argon2id (RFC 9106, version 0x13), over noble's asynchronous variant: the same bytes as the
 * synchronous one, computed in slices of about 10 ms with the event loop free between them.
 * Loaded when first asked for: only the recovery kit needs it, and a page that syncs a space
 * should not carry it (docs/benchmarks.md, first-load JavaScript).
 */
export async function argon2id(
  password: Uint8Array,
  salt: string | Uint8Array,
  cost: Argon2Cost,
): Promise<Uint8Array> {
  const { t, m, p, dkLen } = cost;
  const { argon2idAsync } = await import('@noble/hashes/argon2.js');
  return argon2idAsync(password, typeof salt === 'string' ? utf8.encode(salt) : salt, {
    t,
    m,
    p,
    dkLen,
    asyncTick: ARGON2_TICK_MS,
  });
}

/** XChaCha20-Poly1305 with a fresh random 24-byte nonce. */
export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  return { nonce, ciphertext: xchacha20poly1305(key, nonce, aad).encrypt(plaintext) };
}

/** The plaintext, or null when anything (key, nonce, associated data, ciphertext) is wrong. */
export function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  if (key.length !== KEY_BYTES || nonce.length !== NONCE_BYTES) return null;
  if (ciphertext.length < TAG_BYTES) return null;
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    return null;
  }
}

/** An Ed25519 key pair; the secret key is RFC 8032's 32-byte seed. */
export function newSigningKeys(): KeyPair {
  return ed25519.keygen(randomBytes(KEY_BYTES));
}

export function signingPublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

export function sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey);
}

/**
 * `sign`'s signature, made by the platform's Ed25519 (WebCrypto: native code, several times
 * faster than noble's, off the JavaScript thread), or null when the platform cannot sign with
 * these keys yet: the caller then signs with `sign`, at once. Ed25519 signing is deterministic
 * (RFC 8032, 5.1.6), so both give the same bytes, which is what lets a caller that cannot wait
 * finish the same envelope with `sign` instead.
 *
 * The first call for a key pair starts importing it (non-extractable) and returns null; once the
 * import has settled, calls return a promise. A platform whose first signature differs from
 * noble's is never used again for that key pair, and a promise that rejects means the caller
 * signs with `sign`. A key the platform holds alone (`SigningKeys.platformKey`) is never null
 * here: it signs there or not at all, and a caller asks again after a rejection.
 */
export function signSoon(keys: SigningKeys, message: Uint8Array): Promise<Uint8Array> | null {
  if (keys.platformKey) return platformSign(keys.platformKey, message);
  if (keys.secretKey === null)
    throw new Error('a signing key with neither bytes nor a platform key');
  const signer = platformSigners.get(keys);
  if (signer === undefined) {
    platformSigners.set(keys, null);
    void importSigningKey(keys).then((key) => key && platformSigners.set(keys, key));
    return null;
  }
  if (signer === null) return null;
  return platformSign(signer, message);
}

function platformSign(key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return platformSubtle!
    .sign('Ed25519', key, arrayBacked(message))
    .then((signature) => new Uint8Array(signature));
}

/**
 * The same key pair held by the platform alone: imported non-extractable and checked to sign as
 * noble does, with no bytes in what this returns (the caller drops its own). Null where the
 * platform has no Ed25519 or signs otherwise: the device then keeps signing with the bytes.
 */
export async function platformSigningKeys(keys: SigningKeys): Promise<SigningKeys | null> {
  const platformKey = await importSigningKey(keys);
  return platformKey && { publicKey: keys.publicKey.slice(), secretKey: null, platformKey };
}

/**
 * A platform key read back from storage with its public key: null unless it is a
 * non-extractable Ed25519 signing key whose signature `verify` accepts for `publicKey`, so a
 * damaged or swapped key is caught here rather than as signatures nobody accepts.
 */
export async function restorePlatformSigningKeys(
  publicKey: Uint8Array,
  platformKey: CryptoKey,
): Promise<SigningKeys | null> {
  if (platformKey.extractable || platformKey.algorithm.name !== 'Ed25519') return null;
  try {
    const signature = await platformSign(platformKey, PLATFORM_CHECK);
    if (!verify(publicKey, PLATFORM_CHECK, signature)) return null;
  } catch {
    return null;
  }
  return { publicKey: publicKey.slice(), secretKey: null, platformKey };
}

/** Key pairs' platform keys, once imported and checked; null while importing, or never usable. */
const platformSigners = new WeakMap<SigningKeys, CryptoKey | null>();
const PLATFORM_CHECK = utf8.encode('mend/v1/platform-signing-check');

async function importSigningKey(keys: SigningKeys): Promise<CryptoKey | null> {
  if (!platformEd25519 || keys.secretKey?.length !== KEY_BYTES) return null;
  try {
    const key = await platformSubtle!.importKey(
      'jwk',
      {
        kty: 'OKP',
        crv: 'Ed25519',
        d: toBase64Url(keys.secretKey),
        x: toBase64Url(keys.publicKey),
      },
      'Ed25519',
      false,
      ['sign'],
    );
    const theirs = new Uint8Array(
      await platformSubtle!.sign('Ed25519', key, arrayBacked(PLATFORM_CHECK)),
    );
    return equalBytes(theirs, sign(keys.secretKey, PLATFORM_CHECK)) ? key : null;
  } catch {
    // No Ed25519 here (NotSupportedError), or a key it refuses: noble signs, as before.
    return null;
  }
}

/**
 * Strict RFC 8032 verification (no ZIP-215 leniency, small-order keys refused), so a signature
 * binds one key and one message. False, never a throw, for a key or signature of any shape.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/**
 * Vouches ahead of time, off the synchronous path, for a signature `verify` accepts, using the
 * platform's Ed25519 (WebCrypto: native code, several times faster than noble's) where it has
 * one. True means `verify` would return true for these bytes; false says nothing (no platform
 * Ed25519, or the platform refused): `verify` decides, as it always did.
 *
 * Why a platform's "yes" is enough: platforms differ from noble's strict rules only at the edges
 * (docs/security.md, "One verdict on every device"), and each edge is checked here first, so the
 * verdict on every device stays exactly noble's: the key decodes strictly and is not of small
 * order (once per key), S < L, and R is a canonical encoding (y < p, no negative zero). With
 * those, a platform that accepts has checked [S]B = R + [k]A or its cofactored form, and the
 * first implies the second, which is what `verify` checks.
 */
export async function vouchFor(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  if (!canonicalR(signature.subarray(0, 32)) || !reducedS(signature.subarray(32))) return false;
  const key = await platformKey(publicKey);
  if (!key) return false;
  try {
    return await platformSubtle!.verify(
      'Ed25519',
      key,
      arrayBacked(signature),
      arrayBacked(message),
    );
  } catch {
    return false;
  }
}

const platformSubtle: SubtleCrypto | undefined = globalThis.crypto?.subtle;
/** False once the platform has shown it has no Ed25519. */
let platformEd25519 = platformSubtle !== undefined;
/** Imported keys (null: not one `verify` accepts), a few dozen at most: a space has few devices. */
const platformKeys = new Map<string, Promise<CryptoKey | null>>();
const PLATFORM_KEYS_KEPT = 64;

function platformKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  if (!platformEd25519) return Promise.resolve(null);
  const id = bytesToHex(publicKey);
  let key = platformKeys.get(id);
  if (!key) {
    if (platformKeys.size >= PLATFORM_KEYS_KEPT) platformKeys.clear();
    key = strictKey(publicKey)
      ? importPlatformKey(new Uint8Array(publicKey))
      : Promise.resolve(null);
    platformKeys.set(id, key);
  }
  return key;
}

async function importPlatformKey(publicKey: Uint8Array<ArrayBuffer>): Promise<CryptoKey | null> {
  try {
    return await platformSubtle!.importKey('raw', publicKey, 'Ed25519', false, ['verify']);
  } catch (error) {
    // A platform without Ed25519 says NotSupportedError; anything else is about this key.
    if ((error as { name?: string } | null)?.name === 'NotSupportedError') platformEd25519 = false;
    return null;
  }
}

/** What `verify` asks of a public key before any equation: a strict decoding, not small order. */
function strictKey(publicKey: Uint8Array): boolean {
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** 2^255 - 19, little-endian. */
const FIELD_P = hexToBytes('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
/** The group order L, little-endian. */
const GROUP_L = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/** y < p, and not x = 0 with the sign bit set (y = ±1 are the only points with x = 0). */
function canonicalR(r: Uint8Array): boolean {
  const y = r.slice();
  const negative = (y[31]! & 0x80) !== 0;
  y[31]! &= 0x7f;
  if (!lessThanLE(y, FIELD_P)) return false;
  if (!negative) return true;
  const one = y[0] === 1 && y.subarray(1).every((b) => b === 0);
  const minusOne = y[0] === 0xec && y.subarray(1, 31).every((b) => b === 0xff) && y[31] === 0x7f;
  return !one && !minusOne;
}

function reducedS(s: Uint8Array): boolean {
  return lessThanLE(s, GROUP_L);
}

/** a < b for equal-length little-endian numbers. */
function lessThanLE(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = a.length - 1; i >= 0; i--) {
    if (a[i] !== b[i]) return a[i]! < b[i]!;
  }
  return false;
}

export function newAgreementKeys(): KeyPair {
  return x25519.keygen(randomBytes(KEY_BYTES));
}

export function agreementPublicKey(secretKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(secretKey);
}

/** X25519; null for a public key of low order (which would make the shared secret guessable). */
export function agree(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  if (secretKey.length !== KEY_BYTES || publicKey.length !== KEY_BYTES) return null;
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    return null;
  }
}

const BOX_INFO = utf8.encode('mend/v1/box');
const BOX_OVERHEAD = KEY_BYTES + NONCE_BYTES + TAG_BYTES;

function boxKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array) {
  return hkdf(shared, concatBytes(BOX_INFO, ephemeralPublic, recipientPublic), KEY_BYTES);
}

/**
 * A box only the holder of `recipientPublic`'s secret key can open (docs/protocol.md, "Boxes"):
 * ephemeral public key ‖ nonce ‖ XChaCha20-Poly1305 ciphertext. It says nothing about who
 * sealed it; an envelope's signature does that.
 */
export function boxSeal(recipientPublic: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const ephemeral = newAgreementKeys();
  const shared = agree(ephemeral.secretKey, recipientPublic);
  if (!shared) {
    throw new SealedError(SealedErrorReason.badKey, 'That device key cannot receive a box.');
  }
  const key = boxKey(shared, ephemeral.publicKey, recipientPublic);
  const { nonce, ciphertext } = aeadSeal(key, plaintext, new Uint8Array(0));
  return concatBytes(ephemeral.publicKey, nonce, ciphertext);
}

/** The box's plaintext, or null if it was not sealed to this key or was changed. */
export function boxOpen(
  recipientSecret: Uint8Array,
  recipientPublic: Uint8Array,
  box: Uint8Array,
): Uint8Array | null {
  if (box.length < BOX_OVERHEAD || recipientPublic.length !== KEY_BYTES) return null;
  const ephemeralPublic = box.subarray(0, KEY_BYTES);
  const shared = agree(recipientSecret, ephemeralPublic);
  if (!shared) return null;
  const key = boxKey(shared, ephemeralPublic, recipientPublic);
  const nonce = box.subarray(KEY_BYTES, KEY_BYTES + NONCE_BYTES);
  return aeadOpen(key, nonce, box.subarray(KEY_BYTES + NONCE_BYTES), new Uint8Array(0));
}
