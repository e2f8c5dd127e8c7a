import { HASH_BYTES, isPartnerId, KEY_BYTES, type PartnerId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { SealedError, SealedErrorReason } from './errors.js';

/**
 * What member and snapshot envelopes carry once decrypted (docs/protocol.md, "Payloads").
 * Decoders are strict: a payload comes from another device, so anything off is refused.
 */

/** A member statement: the author device holds `partnerId`'s seat; box keys to `agreementKey`. */
export interface MemberPayload {
  readonly partnerId: PartnerId;
  readonly agreementKey: Uint8Array;
}

/** Where one stream's chain stands: its owner, last counter and last envelope's hash. */
export interface ChainHead {
  readonly author: Uint8Array;
  readonly stream: number;
  readonly counter: number;
  readonly hash: Uint8Array;
}

export interface SnapshotPayload {
  /** The whole document, Yjs update v1 encoding. */
  readonly yjsState: Uint8Array;
  /** The chain heads the snapshot covers; later envelopes chain on from these. */
  readonly heads: readonly ChainHead[];
  /**
   * The member statements it covers (the envelopes that carried them are compacted away), in
   * the order they were accepted: the creator's first.
   */
  readonly members: readonly SnapshotMember[];
}

/** A member statement as a snapshot carries it: which device made it. */
export interface SnapshotMember extends MemberPayload {
  readonly device: Uint8Array;
}

export function encodeMemberPayload(p: MemberPayload): Uint8Array {
  if (!isPartnerId(p.partnerId)) throw malformed('a member statement names a partner id');
  if (p.agreementKey.length !== KEY_BYTES) throw malformed('an agreement key is 32 bytes');
  const e = encoding.createEncoder();
  encoding.writeVarString(e, p.partnerId);
  encoding.writeUint8Array(e, p.agreementKey);
  return encoding.toUint8Array(e);
}

export function decodeMemberPayload(bytes: Uint8Array): MemberPayload {
  return read(bytes, 'member statement', (d) => {
    const partnerId = decoding.readVarString(d);
    if (!isPartnerId(partnerId)) throw malformed('a member statement names a partner id');
    return { partnerId, agreementKey: readFixed(d, KEY_BYTES) };
  });
}

export function encodeSnapshotPayload(p: SnapshotPayload): Uint8Array {
  checkHeads(p.heads);
  const e = encoding.createEncoder();
  encoding.writeVarUint8Array(e, p.yjsState);
  encoding.writeVarUint(e, p.heads.length);
  for (const head of p.heads) {
    encoding.writeUint8Array(e, head.author);
    encoding.writeVarUint(e, head.stream);
    encoding.writeVarUint(e, head.counter);
    encoding.writeUint8Array(e, head.hash);
  }
  encoding.writeVarUint(e, p.members.length);
  for (const member of p.members) {
    if (member.device.length !== KEY_BYTES) throw malformed('a device key is 32 bytes');
    encoding.writeUint8Array(e, member.device);
    encoding.writeUint8Array(e, encodeMemberPayload(member));
  }
  return encoding.toUint8Array(e);
}

export function decodeSnapshotPayload(bytes: Uint8Array): SnapshotPayload {
  return read(bytes, 'snapshot', (d) => {
    const yjsState = decoding.readVarUint8Array(d).slice();
    const n = readSafeUint(d);
    const heads: ChainHead[] = [];
    for (let i = 0; i < n; i++) {
      heads.push({
        author: readFixed(d, KEY_BYTES),
        stream: readSafeUint(d),
        counter: readSafeUint(d),
        hash: readFixed(d, HASH_BYTES),
      });
    }
    checkHeads(heads);
    const m = readSafeUint(d);
    const members: SnapshotMember[] = [];
    for (let i = 0; i < m; i++) {
      const device = readFixed(d, KEY_BYTES);
      const partnerId = decoding.readVarString(d);
      if (!isPartnerId(partnerId)) throw malformed('a member statement names a partner id');
      members.push({ device, partnerId, agreementKey: readFixed(d, KEY_BYTES) });
    }
    return { yjsState, heads, members };
  });
}

/** One head per stream, each a Yjs client id with a counter from 1. */
export function checkHeads(heads: readonly ChainHead[]): void {
  const streams = new Set<number>();
  for (const h of heads) {
    if (h.author.length !== KEY_BYTES || h.hash.length !== HASH_BYTES) {
      throw malformed('a chain head holds a 32-byte author and hash');
    }
    if (!Number.isSafeInteger(h.stream) || h.stream < 0 || h.stream > 0xffff_ffff) {
      throw malformed('a chain head names a Yjs client id');
    }
    if (!Number.isSafeInteger(h.counter) || h.counter < 1) {
      throw malformed('a chain head counts from 1');
    }
    if (streams.has(h.stream)) throw malformed(`stream ${h.stream} has two heads`);
    streams.add(h.stream);
  }
}

function read<T>(bytes: Uint8Array, what: string, body: (d: decoding.Decoder) => T): T {
  const d = decoding.createDecoder(bytes);
  let value: T;
  try {
    value = body(d);
  } catch (error) {
    if (error instanceof SealedError) throw error;
    // lib0 throws plain Errors on a short read or a malformed string.
    throw malformed(`the ${what} is cut short or garbled`);
  }
  if (decoding.hasContent(d)) throw malformed(`bytes after the ${what}`);
  return value;
}

function readFixed(d: decoding.Decoder, n: number): Uint8Array {
  if (d.arr.length - d.pos < n) throw malformed('a payload is cut short');
  return decoding.readUint8Array(d, n).slice();
}

function readSafeUint(d: decoding.Decoder): number {
  const n = decoding.readVarUint(d);
  if (!Number.isSafeInteger(n)) throw malformed('a number past 2^53');
  return n;
}

function malformed(why: string): SealedError {
  return new SealedError(SealedErrorReason.malformed, `A payload could not be read: ${why}.`);
}
