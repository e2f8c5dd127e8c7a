import { toBase64Url } from '../bytes.js';
import { SealedError } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import type { SnapshotLink } from '../payloads.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import { openKeysEnvelope, openOwnBox, readKeysStatement } from './keysEnvelope.js';
import type { Membership } from './Membership.js';
import { isEpochRecord, type EpochRecord, type KeysRecord, type Refusal } from './memberRules.js';
import { SetAsideReason, type Receipt, type SetAside } from './setAside.js';

/**
 * How a replica takes keys statements in (docs/protocol.md, "Linking a device", "Removing a
 * device and new epochs", "Recovery kit"): judged by its Membership, and for an epoch statement
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
  if ('epoch' in read) {
    const verdict = membership.judgeEpoch(author, read.epoch);
    if (typeof verdict === 'object') return verdict;
    const record = { ...read, seq };
    membership.admitEpoch(record);
    return { kind: 'epoch', by: author, ...openOwnKey(keys, record) };
  }
  const { link, recovery } = read;
  const verdict = membership.judgeLink(author, link, recovery);
  if (typeof verdict === 'object') return verdict;
  if (verdict === 'admit') membership.admitLink({ ...read, seq });
  const device = toBase64Url(link.signingKey);
  return { kind: 'link', partnerId: link.partnerId, device, by: author, recovery };
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
