import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { isSpaceId, type SpaceId } from './ids.js';

/**
 * The byte layout of a sealed envelope (docs/protocol.md, "Envelopes"): what the server reads to
 * order and store it, and what a device signs and seals. No crypto here: `@mend/sealed` signs,
 * encrypts and verifies; this module only writes and reads the fields, and refuses anything that
 * does not have the layout.
 */

export const ENVELOPE_VERSION = 1;

export const EnvelopeKind = {
  update: 1,
  snapshot: 2,
  presence: 3,
  member: 4,
  keys: 5,
  /**
   * What was written before the space was sealed (docs/protocol.md, "Converting a plaintext
   * space"): a Yjs update whose structs may use client ids no stream has claimed.
   */
  carried: 6,
} as const;
export type EnvelopeKind = (typeof EnvelopeKind)[keyof typeof EnvelopeKind];

const kinds = new Set<number>(Object.values(EnvelopeKind));

export const KEY_BYTES = 32;
export const HASH_BYTES = 32;
export const NONCE_BYTES = 24;
export const SIGNATURE_BYTES = 64;

/** Every field before `nonce`: the AEAD's associated data. */
export interface EnvelopeHeader {
  readonly version: typeof ENVELOPE_VERSION;
  readonly kind: EnvelopeKind;
  readonly spaceId: SpaceId;
  readonly epoch: number;
  /** The author device's Ed25519 public key. */
  readonly author: Uint8Array;
  /** The Yjs client id this envelope writes with. */
  readonly stream: number;
  readonly counter: number;
  /** SHA-256 of the stream's previous envelope; zeros at counter 1, for presence and snapshots. */
  readonly prev: Uint8Array;
  /** Snapshots only: what part of the log they replace. */
  readonly covers: { readonly seq: number; readonly hash: Uint8Array } | null;
}

export interface Envelope extends EnvelopeHeader {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly signature: Uint8Array;
  /** The header's bytes as encoded: associated data of the AEAD. */
  readonly headerBytes: Uint8Array;
  /** Every byte before the signature: what the signature covers (after its domain prefix). */
  readonly signedBytes: Uint8Array;
}

export class EnvelopeFormatError extends Error {
  override readonly name = 'EnvelopeFormatError';
}

export const ZERO_HASH: Uint8Array = new Uint8Array(HASH_BYTES);

/** Encodes the header; throws EnvelopeFormatError for a header no reader would accept. */
export function encodeEnvelopeHeader(header: EnvelopeHeader): Uint8Array {
  checkHeader(header);
  const e = encoding.createEncoder();
  encoding.writeUint8(e, header.version);
  encoding.writeUint8(e, header.kind);
  encoding.writeVarString(e, header.spaceId);
  encoding.writeVarUint(e, header.epoch);
  encoding.writeUint8Array(e, header.author);
  encoding.writeVarUint(e, header.stream);
  encoding.writeVarUint(e, header.counter);
  encoding.writeUint8Array(e, header.prev);
  if (header.kind === EnvelopeKind.snapshot) {
    const covers = header.covers;
    if (!covers) throw new EnvelopeFormatError('a snapshot must say what it covers');
    encoding.writeVarUint(e, covers.seq);
    encoding.writeUint8Array(e, covers.hash);
  }
  return encoding.toUint8Array(e);
}

/** Header bytes ‖ nonce ‖ ciphertext: the bytes the author signs. */
export function encodeSignedPart(
  headerBytes: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  if (nonce.length !== NONCE_BYTES) throw new EnvelopeFormatError('the nonce must be 24 bytes');
  const e = encoding.createEncoder();
  encoding.writeUint8Array(e, headerBytes);
  encoding.writeUint8Array(e, nonce);
  encoding.writeVarUint8Array(e, ciphertext);
  return encoding.toUint8Array(e);
}

/** The whole envelope: signed part ‖ signature. */
export function encodeEnvelope(signedBytes: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new EnvelopeFormatError('the signature must be 64 bytes');
  }
  const out = new Uint8Array(signedBytes.length + SIGNATURE_BYTES);
  out.set(signedBytes, 0);
  out.set(signature, signedBytes.length);
  return out;
}

/**
 * An envelope's header and the size of its ciphertext: all a server needs to order, store and
 * relay it (docs/protocol.md, "Envelopes"), read without copying or slicing the rest.
 */
export interface EnvelopeOutline extends EnvelopeHeader {
  readonly ciphertextBytes: number;
}

/**
 * Reads an envelope's header and checks the layout of the whole envelope as `decodeEnvelope`
 * does (nonce, ciphertext length, signature, nothing after), without slicing out its parts: the
 * server's per-edit path. Throws EnvelopeFormatError for anything `decodeEnvelope` refuses.
 * `author` and `prev` (and `covers.hash`) are views into `bytes`.
 */
export function readEnvelopeHeader(bytes: Uint8Array): EnvelopeOutline {
  const d = decoding.createDecoder(bytes);
  try {
    const header = readHeader(d);
    skip(d, NONCE_BYTES);
    const ciphertextBytes = readSafeUint(d);
    skip(d, ciphertextBytes);
    if (d.arr.length - d.pos !== SIGNATURE_BYTES) {
      if (d.arr.length - d.pos < SIGNATURE_BYTES) {
        throw new EnvelopeFormatError('the envelope is cut short');
      }
      throw new EnvelopeFormatError('bytes after the signature');
    }
    return { ...header, ciphertextBytes };
  } catch (error) {
    throw formatError(error);
  }
}

/**
 * Reads an envelope, checking only its layout (no signature, no decryption). Throws
 * EnvelopeFormatError for anything else: wrong version or kind, a field cut short, bytes left
 * over, numbers past 2^53. The returned byte fields are views into `bytes`.
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const d = decoding.createDecoder(bytes);
  try {
    const header = readHeader(d);
    const headerEnd = d.pos;
    const nonce = readFixed(d, NONCE_BYTES);
    const ciphertext = decoding.readVarUint8Array(d);
    const signedEnd = d.pos;
    const signature = readFixed(d, SIGNATURE_BYTES);
    if (decoding.hasContent(d)) throw new EnvelopeFormatError('bytes after the signature');
    return {
      ...header,
      nonce,
      ciphertext,
      signature,
      headerBytes: bytes.subarray(0, headerEnd),
      signedBytes: bytes.subarray(0, signedEnd),
    };
  } catch (error) {
    throw formatError(error);
  }
}

/** Every field before the nonce, checked (checkHeader). */
function readHeader(d: decoding.Decoder): EnvelopeHeader {
  const version = readByte(d);
  if (version !== ENVELOPE_VERSION) {
    throw new EnvelopeFormatError(`unknown envelope version ${version}`);
  }
  const kind = readByte(d);
  if (!kinds.has(kind)) throw new EnvelopeFormatError(`unknown envelope kind ${kind}`);
  const spaceId = decoding.readVarString(d);
  const epoch = readSafeUint(d);
  const author = readFixed(d, KEY_BYTES);
  const stream = readSafeUint(d);
  const counter = readSafeUint(d);
  const prev = readFixed(d, HASH_BYTES);
  let covers: EnvelopeHeader['covers'] = null;
  if (kind === EnvelopeKind.snapshot) {
    const seq = readSafeUint(d);
    covers = { seq, hash: readFixed(d, HASH_BYTES) };
  }
  const header: EnvelopeHeader = {
    version: ENVELOPE_VERSION,
    kind: kind as EnvelopeKind,
    spaceId: spaceId as SpaceId,
    epoch,
    author,
    stream,
    counter,
    prev,
    covers,
  };
  checkHeader(header);
  return header;
}

/** lib0 throws plain Errors on a short read or a malformed string. */
function formatError(error: unknown): EnvelopeFormatError {
  if (error instanceof EnvelopeFormatError) return error;
  return new EnvelopeFormatError('the envelope is cut short or garbled');
}

function checkHeader(h: EnvelopeHeader): void {
  if (!isSpaceId(h.spaceId)) throw new EnvelopeFormatError('the space id is not valid');
  if (!kinds.has(h.kind)) throw new EnvelopeFormatError(`unknown envelope kind ${h.kind}`);
  if (h.author.length !== KEY_BYTES) throw new EnvelopeFormatError('the author must be 32 bytes');
  if (h.prev.length !== HASH_BYTES) throw new EnvelopeFormatError('prev must be 32 bytes');
  if (!isWhole(h.epoch) || !isWhole(h.stream) || !isWhole(h.counter)) {
    throw new EnvelopeFormatError('epoch, stream and counter must be whole numbers');
  }
  if (h.epoch < 1) throw new EnvelopeFormatError('epochs start at 1');
  // Yjs client ids are unsigned 32-bit numbers.
  if (h.stream > 0xffff_ffff) throw new EnvelopeFormatError('the stream is not a Yjs client id');
  const chained = h.kind !== EnvelopeKind.presence && h.kind !== EnvelopeKind.snapshot;
  if (chained && h.counter < 1) throw new EnvelopeFormatError('counters start at 1');
  if ((!chained || h.counter === 1) && !isZero(h.prev)) {
    throw new EnvelopeFormatError('the first envelope of a stream has no predecessor');
  }
  if ((h.kind === EnvelopeKind.snapshot) !== (h.covers !== null)) {
    throw new EnvelopeFormatError('only a snapshot says what it covers');
  }
  if (h.covers && (h.covers.hash.length !== HASH_BYTES || !Number.isSafeInteger(h.covers.seq))) {
    throw new EnvelopeFormatError('a snapshot covers a sequence number and a 32-byte hash');
  }
  if (h.covers && h.covers.seq < 1)
    throw new EnvelopeFormatError('a snapshot covers seq 1 or more');
}

function isWhole(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isZero(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b !== 0) return false;
  return true;
}

function readFixed(d: decoding.Decoder, n: number): Uint8Array {
  if (d.arr.length - d.pos < n) throw new EnvelopeFormatError('the envelope is cut short');
  return decoding.readUint8Array(d, n);
}

/** lib0's readUint8 reads past the end as undefined. */
function readByte(d: decoding.Decoder): number {
  if (d.pos >= d.arr.length) throw new EnvelopeFormatError('the envelope is cut short');
  return decoding.readUint8(d);
}

function skip(d: decoding.Decoder, n: number): void {
  if (d.arr.length - d.pos < n) throw new EnvelopeFormatError('the envelope is cut short');
  d.pos += n;
}

function readSafeUint(d: decoding.Decoder): number {
  const n = decoding.readVarUint(d);
  if (!Number.isSafeInteger(n)) throw new EnvelopeFormatError('a number past 2^53');
  return n;
}
