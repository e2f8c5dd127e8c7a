import { isPartnerId, isSpaceId, KEY_BYTES } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { equalBytes, startsWith } from '../bytes.js';
import { agreementPublicKey, signingPublicKey } from '../crypto.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import type { SealedMembership } from './sealedSpaces.js';

/**
 * A device's secrets for one sealed space, as bytes for `LocalSpaceStore.saveSecrets` (which
 * seals them at rest). Read strictly: they come back from storage this code does not control.
 *
 * Layout (lib0 encoding): `varString "mend/membership"`, `varUint version` (1), `varString
 * spaceId`, `varString partnerId`, `varString token`, `bytes[32]` signing secret and public
 * key, `bytes[32]` agreement secret and public key, `varUint n` epochs (n × `varUint epoch`,
 * `bytes[32] spaceKey`), `bytes[32] creator`. The public keys are stored and checked against
 * the secrets, so a damaged key is caught here rather than as signatures nobody accepts.
 */
const LABEL = 'mend/membership';
const VERSION = 1;
const LABEL_BYTES = (() => {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  return encoding.toUint8Array(e);
})();

export function encodeMembership(m: SealedMembership): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  encoding.writeVarUint(e, VERSION);
  encoding.writeVarString(e, m.spaceId);
  encoding.writeVarString(e, m.partnerId);
  encoding.writeVarString(e, m.token);
  for (const pair of [m.identity.signing, m.identity.agreement]) {
    encoding.writeUint8Array(e, pair.secretKey);
    encoding.writeUint8Array(e, pair.publicKey);
  }
  const epochs = m.keyring.toStored().epochs.map(({ epoch }) => m.keyring.get(epoch)!);
  encoding.writeVarUint(e, epochs.length);
  for (const keys of epochs) {
    encoding.writeVarUint(e, keys.epoch);
    encoding.writeUint8Array(e, keys.spaceKey);
  }
  encoding.writeUint8Array(e, m.creator);
  return encoding.toUint8Array(e);
}

/** Reads a device's secrets back; throws a SealedError (`malformed` or `badKey`) otherwise. */
export function decodeMembership(bytes: Uint8Array): SealedMembership {
  const d = decoding.createDecoder(bytes);
  let membership: SealedMembership;
  try {
    if (!startsWith(bytes, LABEL_BYTES)) throw unreadable('they are not a membership');
    decoding.readVarString(d);
    const version = decoding.readVarUint(d);
    if (version !== VERSION) throw unreadable(`version ${version} is not one this Mend reads`);
    const spaceId = decoding.readVarString(d);
    if (!isSpaceId(spaceId)) throw unreadable('they name no space');
    const partnerId = decoding.readVarString(d);
    if (!isPartnerId(partnerId)) throw unreadable('they name no partner');
    const token = decoding.readVarString(d);
    if (token.length === 0) throw unreadable('the device’s credential is missing');
    const signing = readPair(d, signingPublicKey);
    const agreement = readPair(d, agreementPublicKey);
    const keyring = new SpaceKeyring(spaceId);
    const epochs = decoding.readVarUint(d);
    if (epochs === 0) throw unreadable('they hold no space key');
    for (let i = 0; i < epochs; i++) {
      const epoch = decoding.readVarUint(d);
      if (keyring.get(epoch)) throw unreadable(`epoch ${epoch} comes twice`);
      keyring.add(epoch, readFixed(d));
    }
    const creator = readFixed(d);
    membership = { spaceId, partnerId, token, identity: { signing, agreement }, keyring, creator };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    // lib0 throws plain Errors on a short read or a garbled string.
    throw unreadable('they are cut short or garbled');
  }
  if (decoding.hasContent(d)) throw unreadable('bytes follow their end');
  return membership;
}

function readPair(d: decoding.Decoder, publicOf: (secret: Uint8Array) => Uint8Array) {
  const secretKey = readFixed(d);
  const publicKey = readFixed(d);
  if (!equalBytes(publicOf(secretKey), publicKey)) {
    throw new SealedError(
      SealedErrorReason.badKey,
      'The keys stored for this space on this device do not match each other.',
    );
  }
  return { secretKey, publicKey };
}

function readFixed(d: decoding.Decoder): Uint8Array {
  if (d.arr.length - d.pos < KEY_BYTES) throw unreadable('they are cut short');
  return decoding.readUint8Array(d, KEY_BYTES).slice();
}

function unreadable(why: string): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    `The keys stored for this space on this device cannot be read: ${why}.`,
  );
}
