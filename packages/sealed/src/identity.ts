import { KEY_BYTES } from '@mend/protocol';
import { fromBase64Url, toBase64Url } from './bytes.js';
import {
  agreementPublicKey,
  newAgreementKeys,
  newSigningKeys,
  signingPublicKey,
  type KeyPair,
  type SigningKeys,
} from './crypto.js';
import { SealedError, SealedErrorReason } from './errors.js';
import { isRecord } from './stored.js';

/**
 * A device's own keys (docs/protocol.md, "Keys"): it signs with the Ed25519 pair, whose public
 * half is its `DeviceKey` on the wire, and receives boxes on the X25519 pair. A member's signing
 * key is held by the platform alone where it can be (`SealedSession.open`).
 */
export interface DeviceIdentity {
  readonly signing: SigningKeys;
  readonly agreement: KeyPair;
}

/**
 * An identity whose secret keys are bytes: just made, derived from a recovery code, or kept in
 * a record that stores them (the sealing record of a space not sealed yet).
 */
export interface IdentityWithBytes extends DeviceIdentity {
  readonly signing: KeyPair;
}

/** What a device keeps of its identity: the two secret keys; the public halves follow from them. */
export interface StoredIdentity {
  readonly v: 1;
  readonly signingSecret: string;
  readonly agreementSecret: string;
}

export function newDeviceIdentity(): IdentityWithBytes {
  return { signing: newSigningKeys(), agreement: newAgreementKeys() };
}

export function storeIdentity(identity: IdentityWithBytes): StoredIdentity {
  return {
    v: 1,
    signingSecret: toBase64Url(identity.signing.secretKey),
    agreementSecret: toBase64Url(identity.agreement.secretKey),
  };
}

/** Reads a stored identity back; storage is outside this device's control, so it is checked. */
export function restoreIdentity(stored: unknown): IdentityWithBytes {
  if (!isRecord(stored) || stored['v'] !== 1) {
    throw new SealedError(SealedErrorReason.malformed, 'The stored device keys are not readable.');
  }
  const signingSecret = readKey(stored['signingSecret']);
  const agreementSecret = readKey(stored['agreementSecret']);
  return {
    signing: { secretKey: signingSecret, publicKey: signingPublicKey(signingSecret) },
    agreement: { secretKey: agreementSecret, publicKey: agreementPublicKey(agreementSecret) },
  };
}

function readKey(value: unknown): Uint8Array {
  if (typeof value !== 'string') {
    throw new SealedError(SealedErrorReason.malformed, 'The stored device keys are incomplete.');
  }
  return fromBase64Url(value, KEY_BYTES);
}
