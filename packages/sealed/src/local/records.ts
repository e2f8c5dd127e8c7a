import { LocalStoreError, LocalStoreErrorReason } from './LocalStoreError.js';

/** A sealed envelope this device wrote and the server has not acknowledged yet. */
export interface OutboxEntry {
  /** The Yjs client id the envelope writes with. */
  readonly stream: number;
  /** Its position in the stream's chain, from 1. */
  readonly counter: number;
  /** The envelope's bytes, exactly as they will be (re)sent. */
  readonly envelope: Uint8Array;
}

/** A change made on this device while it was not connected, still to be sealed. */
export interface HeldChange {
  /** The Yjs client id it was written with: the stream its envelope will continue. */
  readonly stream: number;
  /** The Yjs update (v1). */
  readonly update: Uint8Array;
}

/** The replica's verification state (opaque here) and the highest seq it has taken in. */
export interface ReplicaRecord {
  readonly since: number;
  readonly state: Uint8Array;
}

/** An outbox entry as stored: `order` keeps entries in the order they were written. */
export interface StoredOutboxEntry extends OutboxEntry {
  readonly order: number;
}

// What IndexedDB hands back is read like any input from outside: another version of Mend, a
// browser extension or a damaged profile may have written it.

/** A Yjs update, or sealed secrets: bytes. */
export function parseBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw corrupt();
  return value;
}

export function parseOutboxEntry(value: unknown): OutboxEntry {
  if (!isRecord(value)) throw corrupt();
  const { stream, counter, envelope } = value;
  if (!isCount(stream) || !isCount(counter) || !(envelope instanceof Uint8Array)) throw corrupt();
  return { stream, counter, envelope };
}

export function parseHeldChange(value: unknown): HeldChange {
  if (!isRecord(value)) throw corrupt();
  const { stream, update } = value;
  if (!isCount(stream) || !(update instanceof Uint8Array)) throw corrupt();
  return { stream, update };
}

export function parseReplica(value: unknown): ReplicaRecord | null {
  if (value === undefined) return null;
  if (!isRecord(value)) throw corrupt();
  const { since, state } = value;
  if (!isCount(since) || !(state instanceof Uint8Array)) throw corrupt();
  return { since, state };
}

export function parseSealedSecrets(value: unknown): Uint8Array | null {
  if (value === undefined) return null;
  return parseBytes(value);
}

export function parseOptionalBytes(value: unknown): Uint8Array | null {
  if (value === undefined) return null;
  return parseBytes(value);
}

/** A stored non-extractable CryptoKey (the at-rest key, the signing key), or null for none. */
export function parseStoredKey(value: unknown): CryptoKey | null {
  if (value === undefined) return null;
  if (!(value instanceof CryptoKey) || value.extractable) throw corrupt();
  return value;
}

/**
 * The bytes of `view` in a buffer of their own. IndexedDB stores a view's whole underlying
 * buffer, so a small view into a large buffer would store (and keep) all of it.
 */
export function ownBytes(view: Uint8Array): Uint8Array {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function corrupt(): LocalStoreError {
  return new LocalStoreError(LocalStoreErrorReason.corrupt);
}
