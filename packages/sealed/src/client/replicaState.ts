import { HASH_BYTES, isSpaceId, KEY_BYTES, type SpaceId } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import { equalBytes, startsWith, toBase64Url } from '../bytes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import {
  decodeMemberPayload,
  encodeMemberPayload,
  type SnapshotLink,
  type SnapshotMember,
} from '../payloads.js';
import { StreamChains, type StoredChains } from '../StreamChains.js';
import { SetAsideReason, type SetAside } from './setAside.js';

/**
 * A replica's state between page loads (`SealedReplica.exportState`), as bytes the local store
 * keeps. It comes back from storage this code does not control, so it is read strictly: a
 * label and version first (bytes of anything else are refused, not guessed at), every field
 * checked, nothing after the end.
 *
 * Layout (lib0 encoding): `varString "mend/replica-state"`, `varUint version` (2), `varString
 * spaceId`, `bytes[32] creator`, `varUint8Array log` (the sequenced log's Yjs state, v1),
 * `varString chains` (StreamChains' stored form as JSON: seq and heads), `varUint n` members
 * (n × `bytes[32] device`, `varUint seq` (0: not known), `varUint8Array` member payload, creator
 * first), `varUint n` keys statements (links, recovery links and epoch statements, by seq: n ×
 * `varUint seq`, `varUint8Array envelope` as stored), `varUint n`
 * set-aside entries (n × `varUint seq`, `varString reason`, `varString detail`, `u8 hasAuthor`,
 * `varString author`?), `u8 hasTip` (+ `varUint seq`, `bytes[32] hash`), `varUint
 * snapshotCovered`. Version 3 (issue 13) is version 2's layout with epoch statements and recovery
 * links in the keys list and set-aside reasons of issue 13; a version 2 state (its list holds links
 * only) and a version 1 state (before links: no member seqs and no links) still read. A version
 * 2 reader refuses a version 3 state, and its device downloads the log again.
 */
export interface ReplicaState {
  readonly spaceId: SpaceId;
  readonly creator: Uint8Array;
  readonly log: Uint8Array;
  readonly chains: StoredChains;
  readonly members: readonly SnapshotMember[];
  /** The keys statements taken in (links, recovery links, epoch statements), by seq, as stored. */
  readonly links: readonly SnapshotLink[];
  readonly setAside: readonly SetAside[];
  readonly tip: { readonly seq: number; readonly hash: Uint8Array } | null;
  /** The seq the last snapshot this replica knows of covers (what the Compactor counts from). */
  readonly snapshotCovered: number;
}

const LABEL = 'mend/replica-state';
const VERSION = 3;
const LINKS_ONLY = 2;
const BEFORE_LINKS = 1;
const LABEL_BYTES = (() => {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  return encoding.toUint8Array(e);
})();
const reasons = new Set<string>(Object.values(SetAsideReason));

export function encodeReplicaState(s: ReplicaState): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  encoding.writeVarUint(e, VERSION);
  encoding.writeVarString(e, s.spaceId);
  encoding.writeUint8Array(e, s.creator);
  encoding.writeVarUint8Array(e, s.log);
  encoding.writeVarString(e, JSON.stringify(s.chains));
  encoding.writeVarUint(e, s.members.length);
  for (const m of s.members) {
    encoding.writeUint8Array(e, m.device);
    encoding.writeVarUint(e, m.seq ?? 0);
    encoding.writeVarUint8Array(e, encodeMemberPayload(m));
  }
  encoding.writeVarUint(e, s.links.length);
  for (const link of s.links) {
    encoding.writeVarUint(e, link.seq);
    encoding.writeVarUint8Array(e, link.envelope);
  }
  encoding.writeVarUint(e, s.setAside.length);
  for (const entry of s.setAside) {
    encoding.writeVarUint(e, entry.seq);
    encoding.writeVarString(e, entry.reason);
    encoding.writeVarString(e, entry.detail);
    encoding.writeUint8(e, entry.author === null ? 0 : 1);
    if (entry.author !== null) encoding.writeVarString(e, entry.author);
  }
  encoding.writeUint8(e, s.tip === null ? 0 : 1);
  if (s.tip !== null) {
    encoding.writeVarUint(e, s.tip.seq);
    encoding.writeUint8Array(e, s.tip.hash);
  }
  encoding.writeVarUint(e, s.snapshotCovered);
  return encoding.toUint8Array(e);
}

/** Reads a replica state; throws a SealedError (`malformed`) for anything else. */
export function decodeReplicaState(bytes: Uint8Array): ReplicaState {
  const d = decoding.createDecoder(bytes);
  let state: ReplicaState;
  try {
    if (!startsWith(bytes, LABEL_BYTES)) throw unreadable('it is not a replica state');
    decoding.readVarString(d);
    const version = decoding.readVarUint(d);
    if (version !== VERSION && version !== LINKS_ONLY && version !== BEFORE_LINKS) {
      throw unreadable(`version ${version} is not one this Mend reads`);
    }
    const spaceId = decoding.readVarString(d);
    if (!isSpaceId(spaceId)) throw unreadable('it names no space');
    const creator = readFixed(d, KEY_BYTES);
    const log = decoding.readVarUint8Array(d).slice();
    const chains = JSON.parse(decoding.readVarString(d)) as StoredChains;
    const members: SnapshotMember[] = [];
    for (let i = readCount(d); i > 0; i--) {
      const device = readFixed(d, KEY_BYTES);
      const seq = version === BEFORE_LINKS ? null : readCount(d) || null;
      members.push({ device, seq, ...decodeMemberPayload(decoding.readVarUint8Array(d)) });
    }
    const links: SnapshotLink[] = [];
    for (let i = version === BEFORE_LINKS ? 0 : readCount(d); i > 0; i--) {
      const seq = readCount(d);
      if (seq === 0) throw unreadable('a link has no seq');
      links.push({ seq, envelope: decoding.readVarUint8Array(d).slice() });
    }
    const setAside: SetAside[] = [];
    for (let i = readCount(d); i > 0; i--) {
      const seq = readCount(d);
      const reason = decoding.readVarString(d);
      if (!reasons.has(reason)) throw unreadable(`“${reason}” is not a reason to set aside`);
      const detail = decoding.readVarString(d);
      const author = readFlag(d) ? decoding.readVarString(d) : null;
      setAside.push({ seq, reason: reason as SetAsideReason, detail, author });
    }
    const tip = readFlag(d) ? { seq: readCount(d), hash: readFixed(d, HASH_BYTES) } : null;
    const snapshotCovered = readCount(d);
    state = { spaceId, creator, log, chains, members, links, setAside, tip, snapshotCovered };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    // lib0 throws plain Errors on a short read or a garbled string; JSON.parse a SyntaxError.
    throw unreadable('it is cut short or garbled');
  }
  if (decoding.hasContent(d)) throw unreadable('bytes follow its end');
  return state;
}

/** A state read and checked against the space and creator it must belong to, ready to use. */
export interface RestoredParts {
  readonly log: Y.Doc;
  readonly chains: StreamChains;
  /** In admission order, each device once, the creator first. */
  readonly members: readonly SnapshotMember[];
  /** Still sealed: the replica opens them with the space's keys. */
  readonly links: readonly SnapshotLink[];
  readonly setAside: readonly SetAside[];
  readonly tip: ReplicaState['tip'];
  readonly snapshotCovered: number;
}

export function readReplicaState(
  bytes: Uint8Array,
  spaceId: SpaceId,
  creator: Uint8Array,
): RestoredParts {
  const s = decodeReplicaState(bytes);
  if (s.spaceId !== spaceId) throw unreadable('it belongs to another space');
  if (!equalBytes(s.creator, creator)) throw unreadable('it names another creating device');
  const chains = StreamChains.restore(s.chains);
  const first = s.members[0];
  if (first && !equalBytes(first.device, creator)) {
    throw unreadable('its first member is not the creating device');
  }
  const past = (seq: number | null) => seq !== null && seq > chains.seq;
  if (
    past(s.tip?.seq ?? null) ||
    s.setAside.some((e) => past(e.seq)) ||
    s.members.some((m) => past(m.seq)) ||
    s.links.some((l) => past(l.seq))
  ) {
    throw unreadable('it holds positions past its own');
  }
  const devices = new Set<string>();
  for (const m of s.members) {
    const device = toBase64Url(m.device);
    if (devices.has(device)) throw unreadable('it lists a member twice');
    devices.add(device);
  }
  const log = new Y.Doc();
  try {
    Y.applyUpdate(log, s.log);
  } catch {
    throw unreadable('its document is garbled');
  }
  // A state Yjs could not place whole (missing what it builds on) is not one this wrote.
  if (log.store.pendingStructs !== null || log.store.pendingDs !== null) {
    throw unreadable('its document is incomplete');
  }
  const { members, links, setAside, tip, snapshotCovered } = s;
  return { log, chains, members, links, setAside, tip, snapshotCovered };
}

function readFixed(d: decoding.Decoder, n: number): Uint8Array {
  if (d.arr.length - d.pos < n) throw unreadable('it is cut short');
  return decoding.readUint8Array(d, n).slice();
}

function readCount(d: decoding.Decoder): number {
  const n = decoding.readVarUint(d);
  if (!Number.isSafeInteger(n)) throw unreadable('a number is past 2^53');
  return n;
}

function readFlag(d: decoding.Decoder): boolean {
  const flag = decoding.readUint8(d);
  if (flag > 1) throw unreadable('a flag is neither 0 nor 1');
  return flag === 1;
}

function unreadable(why: string): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    `The stored state of this space’s log cannot be read: ${why}.`,
  );
}
