import { HASH_BYTES, isPartnerId, KEY_BYTES, type PartnerId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { toBase64Url } from './bytes.js';
import { SealedError, SealedErrorReason } from './errors.js';

/**
 * What member, keys and snapshot envelopes carry once decrypted (docs/protocol.md, "Payloads").
 * Decoders are strict: a payload comes from another device, so anything off is refused.
 */

/** A member statement: the author device holds `partnerId`'s seat; box keys to `agreementKey`. */
export interface MemberPayload {
  readonly partnerId: PartnerId;
  readonly agreementKey: Uint8Array;
}

/** The statements a keys envelope (kind 5) can make: its payload's first byte. */
export const KeysStatement = {
  /** A device of the author's seat links another device to it (docs/protocol.md, "Linking a device"). */
  link: 1,
  /** A new epoch: the devices removed and the new space key boxed to each one that stays. */
  epoch: 2,
  /** A recovery kit's device brought into the author's seat ("Recovery kit"): a link's payload. */
  recoveryLink: 3,
  /**
   * A device of the other seat brings a device into a seat left with no device ("Returning to a
   * seat"): a link's payload, naming the seat the device returns to.
   */
  return: 4,
  /**
   * The version of the model's rules the space is judged by from here on (docs/protocol.md,
   * "Rules versions"): a device that does not know it stops there rather than decide.
   */
  rules: 5,
} as const;
export type KeysStatement = (typeof KeysStatement)[keyof typeof KeysStatement];

/** A link statement: the author device brings the device of these keys into its own seat. */
export interface LinkPayload {
  readonly partnerId: PartnerId;
  readonly signingKey: Uint8Array;
  readonly agreementKey: Uint8Array;
}

/** A new epoch's key, boxed to one device that stays (`epochBox.ts` seals and opens it). */
export interface EpochBoxEntry {
  readonly signingKey: Uint8Array;
  readonly box: Uint8Array;
}

/**
 * An epoch statement (docs/protocol.md, "Removing a device and new epochs"): `epoch` is the one
 * it introduces, `removed` the devices it removes (none: a rotation alone), `boxes` the new
 * space key for every device that stays.
 */
export interface EpochPayload {
  readonly epoch: number;
  readonly removed: readonly Uint8Array[];
  readonly boxes: readonly EpochBoxEntry[];
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
  /**
   * The keys statements it covers (links, recovery links, returns, epoch statements), as their envelopes
   * were stored (signed by their authors, so a device can check them itself), in seq order.
   * Old snapshots have none.
   */
  readonly links: readonly SnapshotLink[];
}

/** A member statement as a snapshot carries it: which device made it, at which seq. */
export interface SnapshotMember extends MemberPayload {
  readonly device: Uint8Array;
  /** The seq its statement was stored at; null when not known (a snapshot before links). */
  readonly seq: number | null;
}

/** A keys statement as a snapshot carries it: its seq and its envelope, as stored. */
export interface SnapshotLink {
  readonly seq: number;
  readonly envelope: Uint8Array;
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

export function encodeLinkPayload(p: LinkPayload): Uint8Array {
  return encodeLinkLike(KeysStatement.link, p);
}

/** A recovery link: the link payload under its own type (docs/protocol.md, "Recovery kit"). */
export function encodeRecoveryLinkPayload(p: LinkPayload): Uint8Array {
  return encodeLinkLike(KeysStatement.recoveryLink, p);
}

/** A return: the link payload under type 4, for the seat the device returns to ("Returning to a seat"). */
export function encodeReturnPayload(p: LinkPayload): Uint8Array {
  return encodeLinkLike(KeysStatement.return, p);
}

function encodeLinkLike(type: KeysStatement, p: LinkPayload): Uint8Array {
  if (!isPartnerId(p.partnerId)) throw malformed('a link statement names a partner id');
  if (p.signingKey.length !== KEY_BYTES || p.agreementKey.length !== KEY_BYTES) {
    throw malformed('a linked device’s keys are 32 bytes each');
  }
  const e = encoding.createEncoder();
  encoding.writeUint8(e, type);
  encoding.writeVarString(e, p.partnerId);
  encoding.writeUint8Array(e, p.signingKey);
  encoding.writeUint8Array(e, p.agreementKey);
  return encoding.toUint8Array(e);
}

/** The statement a keys payload makes, from its first byte; null for one this Mend does not know. */
export function keysStatementOf(payload: Uint8Array): KeysStatement | null {
  const type = payload[0];
  return type === KeysStatement.link ||
    type === KeysStatement.epoch ||
    type === KeysStatement.recoveryLink ||
    type === KeysStatement.return ||
    type === KeysStatement.rules
    ? type
    : null;
}

export function decodeLinkPayload(bytes: Uint8Array): LinkPayload {
  return decodeLinkLike(KeysStatement.link, bytes);
}

export function decodeRecoveryLinkPayload(bytes: Uint8Array): LinkPayload {
  return decodeLinkLike(KeysStatement.recoveryLink, bytes);
}

export function decodeReturnPayload(bytes: Uint8Array): LinkPayload {
  return decodeLinkLike(KeysStatement.return, bytes);
}

const linkLikeNames: Partial<Record<KeysStatement, string>> = {
  [KeysStatement.link]: 'link statement',
  [KeysStatement.recoveryLink]: 'recovery link',
  [KeysStatement.return]: 'return statement',
};

function decodeLinkLike(type: KeysStatement, bytes: Uint8Array): LinkPayload {
  const what = linkLikeNames[type] ?? 'link statement';
  return read(bytes, what, (d) => {
    if (decoding.readUint8(d) !== type) throw malformed(`it is not a ${what}`);
    const partnerId = decoding.readVarString(d);
    if (!isPartnerId(partnerId)) throw malformed(`a ${what} names a partner id`);
    return {
      partnerId,
      signingKey: readFixed(d, KEY_BYTES),
      agreementKey: readFixed(d, KEY_BYTES),
    };
  });
}

/** `u8 type = 5`, `varUint version`: a rules statement, version 2 or later (1 needs none). */
export function encodeRulesPayload(version: number): Uint8Array {
  checkRulesVersion(version);
  const e = encoding.createEncoder();
  encoding.writeUint8(e, KeysStatement.rules);
  encoding.writeVarUint(e, version);
  return encoding.toUint8Array(e);
}

export function decodeRulesPayload(bytes: Uint8Array): number {
  const version = read(bytes, 'rules statement', (d) => {
    if (decoding.readUint8(d) !== KeysStatement.rules)
      throw malformed('it is not a rules statement');
    return readSafeUint(d);
  });
  checkRulesVersion(version);
  return version;
}

function checkRulesVersion(version: number): void {
  // Every space starts under version 1: a statement only ever moves it on.
  if (!Number.isSafeInteger(version) || version < 2) {
    throw malformed('a rules statement names a version from 2');
  }
}

/**
 * `u8 type = 2`, `varUint epoch`, `varUint r` and r removed signing keys, `varUint n` and n times
 * a signing key and its `varUint8Array box`. Who may be removed and boxed is the replica's to
 * judge (epochRules.ts); the codec refuses only what no statement can be: an epoch below 2 (the
 * first is the welcome box's), a device listed twice in either list, no box at all.
 */
export function encodeEpochPayload(p: EpochPayload): Uint8Array {
  checkEpochPayload(p);
  const e = encoding.createEncoder();
  encoding.writeUint8(e, KeysStatement.epoch);
  encoding.writeVarUint(e, p.epoch);
  encoding.writeVarUint(e, p.removed.length);
  for (const device of p.removed) encoding.writeUint8Array(e, device);
  encoding.writeVarUint(e, p.boxes.length);
  for (const { signingKey, box } of p.boxes) {
    encoding.writeUint8Array(e, signingKey);
    encoding.writeVarUint8Array(e, box);
  }
  return encoding.toUint8Array(e);
}

export function decodeEpochPayload(bytes: Uint8Array): EpochPayload {
  const payload = read(bytes, 'epoch statement', (d) => {
    if (decoding.readUint8(d) !== KeysStatement.epoch) {
      throw malformed('it is not an epoch statement');
    }
    const epoch = readSafeUint(d);
    const removed: Uint8Array[] = [];
    // Each entry takes at least 32 bytes: a count past what follows is garbled, not a loop.
    for (let r = readCount(d, KEY_BYTES); r > 0; r--) removed.push(readFixed(d, KEY_BYTES));
    const boxes: EpochBoxEntry[] = [];
    for (let n = readCount(d, KEY_BYTES + 1); n > 0; n--) {
      const signingKey = readFixed(d, KEY_BYTES);
      boxes.push({ signingKey, box: decoding.readVarUint8Array(d).slice() });
    }
    return { epoch, removed, boxes };
  });
  checkEpochPayload(payload);
  return payload;
}

function checkEpochPayload(p: EpochPayload): void {
  if (!Number.isSafeInteger(p.epoch) || p.epoch < 2) {
    throw malformed('an epoch statement introduces an epoch from 2');
  }
  if (p.boxes.length === 0) throw malformed('an epoch statement boxes its key to some device');
  for (const list of [p.removed, p.boxes.map((b) => b.signingKey)]) {
    const seen = new Set<string>();
    for (const key of list) {
      if (key.length !== KEY_BYTES) throw malformed('a device key is 32 bytes');
      const text = toBase64Url(key);
      if (seen.has(text)) throw malformed('an epoch statement names a device twice in a list');
      seen.add(text);
    }
  }
}

/**
 * Layout: the Yjs state, the chain heads, the member statements (device + member payload); then,
 * only when it covers a keys statement (so a device of an earlier version, which knows no links,
 * still reads the snapshots of a space without any), the seq of each member statement (0: not
 * known) and the keys statements (seq + envelope as stored).
 */
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
  if (p.links.length > 0) {
    for (const member of p.members) checkSeq(member.seq ?? 1);
    encoding.writeVarUint(e, p.members.length);
    for (const member of p.members) encoding.writeVarUint(e, member.seq ?? 0);
    encoding.writeVarUint(e, p.links.length);
    for (const link of p.links) {
      checkSeq(link.seq);
      encoding.writeVarUint(e, link.seq);
      encoding.writeVarUint8Array(e, link.envelope);
    }
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
    const listed: Omit<SnapshotMember, 'seq'>[] = [];
    for (let i = 0; i < m; i++) {
      const device = readFixed(d, KEY_BYTES);
      const partnerId = decoding.readVarString(d);
      if (!isPartnerId(partnerId)) throw malformed('a member statement names a partner id');
      listed.push({ device, partnerId, agreementKey: readFixed(d, KEY_BYTES) });
    }
    const seqs: (number | null)[] = listed.map(() => null);
    const links: SnapshotLink[] = [];
    if (decoding.hasContent(d)) {
      if (readSafeUint(d) !== m) throw malformed('the member seqs do not match the members');
      for (let i = 0; i < m; i++) seqs[i] = readSafeUint(d) || null;
      const k = readSafeUint(d);
      if (k === 0) throw malformed('a list of links that lists none');
      for (let i = 0; i < k; i++) {
        const seq = readSafeUint(d);
        checkSeq(seq);
        links.push({ seq, envelope: decoding.readVarUint8Array(d).slice() });
      }
    }
    const members = listed.map((member, i) => ({ ...member, seq: seqs[i] ?? null }));
    return { yjsState, heads, members, links };
  });
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1) throw malformed('a seq counts from 1');
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

/** A count of entries of at least `each` bytes, no more than what is left could hold. */
function readCount(d: decoding.Decoder, each: number): number {
  const n = readSafeUint(d);
  if (n * each > d.arr.length - d.pos) throw malformed('a list longer than the payload');
  return n;
}

function readSafeUint(d: decoding.Decoder): number {
  const n = decoding.readVarUint(d);
  if (!Number.isSafeInteger(n)) throw malformed('a number past 2^53');
  return n;
}

function malformed(why: string): SealedError {
  return new SealedError(SealedErrorReason.malformed, `A payload could not be read: ${why}.`);
}
