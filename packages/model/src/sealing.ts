import type * as Y from 'yjs';
import { ModelError, ModelErrorCode } from './errors.js';
import { isId, isSealingKey, type PartnerId } from './ids.js';

export { isSealingKey };
import { Origin } from './origin.js';
import { isRecord, requireInitialised, requirePartner, roots } from './store.js';

/*
 * How a plaintext space's devices hand each other their public keys before the space is sealed
 * (docs/protocol.md, "Converting a plaintext space"): the `sealing` map, partner id → the
 * public keys of the device that will hold that partner's seat. Written in the plaintext era
 * only; the device that converts reads it, and in a sealed space nobody writes it again
 * (SPEC.md, "Who owns what").
 */

/** A device's public keys as the `sealing` map holds them: base64url, 32 bytes each. */
export interface SealingKeys {
  /** Ed25519: the device's key on the wire (`DeviceKey`). */
  readonly signingKey: string;
  /** X25519: what the space key is boxed to. */
  readonly agreementKey: string;
}

export interface OfferSealingKeysInput extends SealingKeys {
  readonly partnerId: PartnerId;
}

/** Null when `value` is an offer `{ signingKey, agreementKey }`, else what it should be. */
export function sealingKeysProblem(value: unknown): string | null {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) {
    return 'an object { signingKey, agreementKey }';
  }
  const keys = Object.keys(value);
  if (keys.length !== 2 || !isSealingKey(value['signingKey'])) {
    return 'an object { signingKey, agreementKey } of two 32-byte keys in base64url';
  }
  return isSealingKey(value['agreementKey'])
    ? null
    : 'an object { signingKey, agreementKey } of two 32-byte keys in base64url';
}

/**
 * Writes the public keys of this partner's device into the `sealing` map, replacing the
 * partner's earlier entry (another device of theirs offered before). Returns false, writing
 * nothing, when the entry already holds exactly these keys, so a device may offer on every
 * load. Refuses (`invalid-argument`) a key that is not 32 bytes in unpadded base64url, and
 * (`not-found`) a partner the space does not have.
 */
export function offerSealingKeys(doc: Y.Doc, input: OfferSealingKeysInput): boolean {
  requireInitialised(doc);
  const partnerId = requirePartner(doc, input.partnerId, 'partnerId');
  for (const field of ['signingKey', 'agreementKey'] as const) {
    if (!isSealingKey(input[field])) {
      throw new ModelError(
        ModelErrorCode.invalidArgument,
        `${field} must be 32 bytes in unpadded base64url (43 characters).`,
      );
    }
  }
  const current = readSealingKeys(doc).get(partnerId);
  if (current?.signingKey === input.signingKey && current.agreementKey === input.agreementKey) {
    return false;
  }
  const offer: SealingKeys = { signingKey: input.signingKey, agreementKey: input.agreementKey };
  doc.transact(() => roots(doc).sealing.set(partnerId, offer), Origin.offerSealingKeys);
  return true;
}

/**
 * Every partner's offered keys. Tolerant: an entry under a key that is not a partner id, or
 * whose value is not two well-formed keys, is left out (another version or a buggy device may
 * have written it); whether the partner is still in the space is the caller's question.
 */
export function readSealingKeys(doc: Y.Doc): Map<PartnerId, SealingKeys> {
  const out = new Map<PartnerId, SealingKeys>();
  for (const [key, value] of roots(doc).sealing.entries()) {
    if (!isId(key) || sealingKeysProblem(value) !== null) continue;
    const { signingKey, agreementKey } = value as SealingKeys;
    out.set(key as PartnerId, { signingKey, agreementKey });
  }
  return out;
}
