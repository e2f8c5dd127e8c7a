import { decodeEnvelope, EnvelopeFormatError, EnvelopeKind } from '@mend/protocol';
import { equalBytes, toBase64Url } from '../bytes.js';
import { decryptEnvelope, type VerifiedEnvelope } from '../envelopes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import { decodeSnapshotPayload, type SnapshotLink, type SnapshotPayload } from '../payloads.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { openKeysEnvelope, openOwnBox, readKeysStatement } from './keysEnvelope.js';
import type { Membership } from './Membership.js';
import { isEpochRecord, type EpochRecord, type KeysRecord, type Refusal } from './memberRules.js';
import { SetAsideReason, type Receipt, type SetAside } from './setAside.js';

/**
 * How a replica takes keys statements in (docs/protocol.md, "Linking a device", "Removing a
 * device and new epochs", "Recovery kit", "Returning to a seat"): judged by its Membership, and for an epoch statement
 * admitted, this device's own box opened into its keyring. SealedReplica records what is set
 * aside; nothing here does I/O.
 */
export interface ReplicaKeys {
  readonly membership: Membership;
  readonly keyring: SpaceKeyring;
  /** This device's keys; null for a replica that takes no key from the log. */
  readonly identity: DeviceIdentity | null;
}

type EpochReceipt = Extract<Receipt, { kind: 'epoch' }>;

/** A keys envelope's payload by `author` at `seq`: taken in (its receipt), or refused. */
export function takeKeysStatement(
  keys: ReplicaKeys,
  statement: { seq: number; bytes: Uint8Array; payload: Uint8Array; author: string },
): Receipt | Refusal {
  const { seq, bytes, payload, author } = statement;
  const read = readKeysStatement(payload, author, bytes);
  if (read === 'unsupported') {
    return {
      reason: SetAsideReason.unsupported,
      detail: 'A statement about keys that this version of Mend does not know.',
    };
  }
  if (read instanceof SealedError) return { reason: SetAsideReason.forged, detail: read.message };
  const { membership } = keys;
  if ('rules' in read) {
    const verdict = membership.judgeRules(author, read.rules);
    if (typeof verdict === 'object') return verdict;
    if (verdict === 'admit') membership.admitRules({ ...read, seq });
    return { kind: 'rules', rules: read.rules, by: author };
  }
  if ('epoch' in read) {
    const verdict = membership.judgeEpoch(author, read.epoch);
    if (typeof verdict === 'object') return verdict;
    const record = { ...read, seq };
    membership.admitEpoch(record);
    return { kind: 'epoch', by: author, ...openOwnKey(keys, record) };
  }
  const { link, recovery, returned } = read;
  const verdict = membership.judgeLinkRecord(read);
  if (typeof verdict === 'object') return verdict;
  if (verdict === 'admit') membership.admitLink({ ...read, seq });
  const device = toBase64Url(link.signingKey);
  return { kind: 'link', partnerId: link.partnerId, device, by: author, recovery, returned };
}

/**
 * This device's own box in an admitted epoch statement, opened into the keyring. A box it
 * cannot open comes back as an entry to set aside for this device alone (`unopened`): the
 * statement counts for membership all the same, as on every other device.
 */
export function openOwnKey(
  keys: ReplicaKeys,
  record: EpochRecord,
): Omit<EpochReceipt, 'kind' | 'by'> {
  const { epoch, removed } = record.epoch;
  const opened = keys.identity
    ? openOwnBox(keys.identity, keys.keyring, record.epoch)
    : 'not-boxed';
  const unopened: SetAside | null =
    opened instanceof SealedError
      ? {
          seq: record.seq,
          reason: SetAsideReason.unopenedKey,
          detail: `A new key (epoch ${epoch}) this device cannot open: ${opened.message}`,
          author: record.by,
        }
      : null;
  const keyHeld = keys.keyring.get(epoch) !== undefined;
  return { epoch, removed: removed.map(toBase64Url), keyHeld, unopened };
}

/**
 * Keys statements' envelopes (a snapshot's or a stored state's), opened in seq order with
 * `keys.keyring`: an epoch statement's own box is opened into it on the way, since the next
 * statement may be sealed with its key. The first that does not open stops it.
 */
export function openKeysList(
  keys: ReplicaKeys,
  list: readonly SnapshotLink[],
): KeysRecord[] | SealedError {
  const records: KeysRecord[] = [];
  for (const { seq, envelope } of list) {
    const opened = openKeysEnvelope(envelope, keys.keyring);
    if (opened instanceof SealedError) return opened;
    const record = { ...opened, seq };
    if (isEpochRecord(record) && keys.identity && !keys.keyring.get(record.epoch.epoch)) {
      openOwnBox(keys.identity, keys.keyring, record.epoch);
    }
    records.push(record);
  }
  return records;
}

/** A keyring holding the same keys, to open what may still be refused. */
export function copyKeyring(keyring: SpaceKeyring): SpaceKeyring {
  const copy = new SpaceKeyring(keyring.spaceId);
  for (const { epoch } of keyring.toStored().epochs) copy.add(epoch, keyring.get(epoch)!.spaceKey);
  return copy;
}

/**
 * The epoch a snapshot's envelope is sealed under when `keyring` lacks it and the snapshot covers
 * more than `since`; null for anything else (another kind, a header that does not read).
 */
export function snapshotKeyWanted(
  bytes: Uint8Array,
  since: number,
  keyring: SpaceKeyring,
): number | null {
  let envelope;
  try {
    envelope = decodeEnvelope(bytes);
  } catch (error) {
    if (!(error instanceof EnvelopeFormatError)) throw error;
    return null;
  }
  if (envelope.kind !== EnvelopeKind.snapshot || (envelope.covers?.seq ?? 0) <= since) return null;
  return keyring.get(envelope.epoch) ? null : envelope.epoch;
}

/**
 * A key for an epoch this device does not hold, offered from outside the log (the server's epoch
 * boxes, docs/protocol.md "Catching up across a key change"): only ever tried on a snapshot, and
 * kept only through the epoch statement that snapshot carries. It never enters a keyring itself.
 */
export interface CandidateKey {
  readonly epoch: number;
  readonly spaceKey: Uint8Array;
}

/**
 * A snapshot's payload and the keys statements it carries, opened and read but not judged yet
 * (`Membership.takeListed` does that): with a copy of the keyring, so what the statements bring
 * counts only if all else holds. Sealed under an epoch the keyring lacks, it opens with a
 * candidate only when the statement for that epoch it carries gives this device the same key
 * through its own box. A refusal otherwise: `unopened-key` when no key opens it, `forged`,
 * `bad-snapshot` for a statement that does not open or lies past what it covers.
 */
export function openSnapshotKeys(
  keys: ReplicaKeys,
  verified: VerifiedEnvelope,
  candidates: readonly CandidateKey[],
): { snapshot: SnapshotPayload; keys: KeysRecord[] } | Refusal {
  const opened = openSnapshot(verified, keys.keyring, candidates);
  if (opened instanceof SealedError) {
    const lacks = opened.reason === SealedErrorReason.unknownEpoch;
    return {
      reason: lacks ? SetAsideReason.unopenedKey : SetAsideReason.forged,
      detail: opened.message,
    };
  }
  const { envelope } = verified;
  const coversSeq = envelope.covers?.seq ?? 0;
  const opening = copyKeyring(keys.keyring);
  const records = openKeysList({ ...keys, keyring: opening }, opened.snapshot.links);
  const past = records instanceof SealedError ? null : records.find((k) => k.seq > coversSeq);
  if (records instanceof SealedError || past) {
    const why = records instanceof SealedError ? records.message : 'it is past what it covers.';
    return { reason: SetAsideReason.badSnapshot, detail: `A statement it lists: ${why}` };
  }
  const unconfirmed =
    opened.candidate && confirmsCandidate(opening, envelope.epoch, opened.candidate);
  if (unconfirmed) return { reason: SetAsideReason.unopenedKey, detail: unconfirmed.message };
  return { snapshot: opened.snapshot, keys: records };
}

/**
 * A snapshot's payload, decrypted with `keyring` and read; sealed under an epoch the keyring
 * lacks, decrypted with the first candidate for that epoch that opens it (on a copy of the
 * keyring). `candidate` is that key, to be confirmed by the statements the snapshot carries
 * (`confirmsCandidate`). A SealedError otherwise: `unknownEpoch` when no key it holds or was
 * offered opens it.
 */
function openSnapshot(
  verified: VerifiedEnvelope,
  keyring: SpaceKeyring,
  candidates: readonly CandidateKey[],
): { snapshot: SnapshotPayload; candidate: Uint8Array | null } | SealedError {
  const opened = decryptSnapshot(verified, keyring, candidates);
  if (opened instanceof SealedError) return opened;
  try {
    return { snapshot: decodeSnapshotPayload(opened.payload), candidate: opened.candidate };
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
}

function decryptSnapshot(
  verified: VerifiedEnvelope,
  keyring: SpaceKeyring,
  candidates: readonly CandidateKey[],
): { payload: Uint8Array; candidate: Uint8Array | null } | SealedError {
  try {
    return { payload: decryptEnvelope(verified, keyring), candidate: null };
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    if (error.reason !== SealedErrorReason.unknownEpoch) return error;
    const { epoch } = verified.envelope;
    const offered = candidates.filter((c) => c.epoch === epoch);
    for (const { spaceKey } of offered) {
      try {
        const trial = copyKeyring(keyring);
        trial.add(epoch, spaceKey);
        return { payload: decryptEnvelope(verified, trial), candidate: spaceKey };
      } catch (tried) {
        if (!(tried instanceof SealedError)) throw tried;
      }
    }
    if (offered.length === 0) return error;
    return new SealedError(
      SealedErrorReason.unknownEpoch,
      `A snapshot sealed under epoch ${epoch}, which none of the keys offered for it opens.`,
    );
  }
}

/**
 * Whether the statements a snapshot carries, opened into `opened` (a copy of the keyring, by
 * `openKeysList`), gave this device `candidate` for `epoch` through its own box: the only way a
 * candidate counts. A SealedError (`unknownEpoch`) saying why not.
 */
function confirmsCandidate(
  opened: SpaceKeyring,
  epoch: number,
  candidate: Uint8Array,
): SealedError | null {
  const given = opened.get(epoch)?.spaceKey;
  if (given && equalBytes(given, candidate)) return null;
  return new SealedError(
    SealedErrorReason.unknownEpoch,
    given
      ? `A snapshot sealed under epoch ${epoch} with another key than the statement it carries gave this device.`
      : `A snapshot sealed under epoch ${epoch}, whose statement it carries gave this device no key it can open.`,
  );
}
