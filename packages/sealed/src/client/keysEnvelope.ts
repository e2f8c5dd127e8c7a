import { EnvelopeKind } from '@mend/protocol';
import { equalBytes, toBase64Url } from '../bytes.js';
import { decryptEnvelope, verifyEnvelope } from '../envelopes.js';
import { openEpochBox } from '../epochBox.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import type { DeviceIdentity } from '../identity.js';
import {
  decodeEpochPayload,
  decodeLinkPayload,
  decodeRecoveryLinkPayload,
  decodeReturnPayload,
  decodeRulesPayload,
  KeysStatement,
  keysStatementOf,
  type EpochPayload,
} from '../payloads.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import type { EpochRecord, LinkRecord, RulesRecord } from './memberRules.js';

/** A keys statement read, not judged yet: a record without its seq. */
export type ReadKeys =
  Omit<LinkRecord, 'seq'> | Omit<EpochRecord, 'seq'> | Omit<RulesRecord, 'seq'>;

/**
 * A keys payload (kind 5) by `by` read as the statement it makes: a link, a recovery link, a
 * return, an epoch or a rules statement; `unsupported` for a type this Mend does not know, a SealedError for one that
 * does not read. Who may make it is judged by the caller (Membership).
 */
export function readKeysStatement(
  payload: Uint8Array,
  by: string,
  envelope: Uint8Array,
): ReadKeys | 'unsupported' | SealedError {
  const type = keysStatementOf(payload);
  if (type === null) return 'unsupported';
  try {
    switch (type) {
      case KeysStatement.link:
        return { by, link: decodeLinkPayload(payload), recovery: false, returned: false, envelope };
      case KeysStatement.recoveryLink: {
        const link = decodeRecoveryLinkPayload(payload);
        return { by, link, recovery: true, returned: false, envelope };
      }
      case KeysStatement.return:
        return {
          by,
          link: decodeReturnPayload(payload),
          recovery: false,
          returned: true,
          envelope,
        };
      case KeysStatement.epoch:
        return { by, epoch: decodeEpochPayload(payload), envelope };
      case KeysStatement.rules:
        return { by, rules: decodeRulesPayload(payload), envelope };
    }
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
}

/**
 * A keys statement's envelope as a snapshot or a stored replica state carries it: checked like
 * any envelope (layout, space, signature, decryption), then read, so a statement is believed on
 * its signer's word and not on the word of whoever passed it on. A SealedError says what is wrong.
 */
export function openKeysEnvelope(bytes: Uint8Array, keyring: SpaceKeyring): ReadKeys | SealedError {
  try {
    const verified = verifyEnvelope(bytes, keyring.spaceId);
    if (verified.envelope.kind !== EnvelopeKind.keys) {
      return new SealedError(
        SealedErrorReason.malformed,
        'A keys statement that is not a keys envelope.',
      );
    }
    const payload = decryptEnvelope(verified, keyring);
    const read = readKeysStatement(payload, toBase64Url(verified.envelope.author), bytes);
    if (read === 'unsupported') {
      return new SealedError(
        SealedErrorReason.malformed,
        'A keys statement of a type this Mend does not know.',
      );
    }
    return read;
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
}

/**
 * This device's own box in an epoch statement, opened into `keyring`: `not-boxed` when the
 * statement has none for it (it was removed, or is not in the space), `opened` once the key is
 * in, or a SealedError when the box does not open, names another space or epoch, or holds another
 * key than the keyring has for that epoch.
 */
export function openOwnBox(
  identity: DeviceIdentity,
  keyring: SpaceKeyring,
  statement: EpochPayload,
): 'not-boxed' | 'opened' | SealedError {
  const mine = statement.boxes.find((b) => equalBytes(b.signingKey, identity.signing.publicKey));
  if (!mine) return 'not-boxed';
  const key = openEpochBox(identity.agreement, mine.box, {
    spaceId: keyring.spaceId,
    epoch: statement.epoch,
  });
  if (key instanceof SealedError) return key;
  try {
    keyring.add(statement.epoch, key);
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
  return 'opened';
}
