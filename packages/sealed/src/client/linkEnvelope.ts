import { EnvelopeKind } from '@mend/protocol';
import { toBase64Url } from '../bytes.js';
import { decryptEnvelope, verifyEnvelope } from '../envelopes.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { decodeLinkPayload, keysStatementOf } from '../payloads.js';
import type { SpaceKeyring } from '../SpaceKeyring.js';
import type { LinkRecord } from './memberRules.js';

/**
 * A link statement's envelope as a snapshot or a stored replica state carries it: checked like
 * any envelope (layout, space, signature, decryption), then read, so a link is believed on its
 * signer's word and not on the word of whoever passed it on. Who may make it is judged by the
 * caller (memberRules); a SealedError says what is wrong.
 */
export function openLinkEnvelope(
  bytes: Uint8Array,
  keyring: SpaceKeyring,
): Omit<LinkRecord, 'seq'> | SealedError {
  try {
    const verified = verifyEnvelope(bytes, keyring.spaceId);
    if (verified.envelope.kind !== EnvelopeKind.keys) {
      return new SealedError(SealedErrorReason.malformed, 'A link that is not a keys envelope.');
    }
    const payload = decryptEnvelope(verified, keyring);
    if (keysStatementOf(payload) === null) {
      return new SealedError(SealedErrorReason.malformed, 'A link that is not a link statement.');
    }
    return {
      by: toBase64Url(verified.envelope.author),
      link: decodeLinkPayload(payload),
      envelope: bytes,
    };
  } catch (error) {
    if (!(error instanceof SealedError)) throw error;
    return error;
  }
}
