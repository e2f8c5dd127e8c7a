import { isPartnerId, isSpaceId, KEY_BYTES } from '@mend/protocol';
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import { equalBytes, startsWith } from '../bytes.js';
import { agreementPublicKey, signingPublicKey } from '../crypto.js';
import { SealedError, SealedErrorReason } from '../errors.js';
import { SEAT_SECRET_BYTES, type SeatSecret } from '../reveal.js';
import { SpaceKeyring } from '../SpaceKeyring.js';
import type { SealedMembership } from './sealedSpaces.js';

/**
 * A device's secrets for one sealed space, as bytes for `LocalSpaceStore.saveSecrets` (which
 * seals them at rest). Read strictly: they come back from storage this code does not control.
 *
 * Layout (lib0 encoding): `varString "mend/membership"`, `varUint version` (2), `varString
 * spaceId`, `varString partnerId`, `varString token`, `bytes[32]` signing secret and public
 * key, `bytes[32]` agreement secret and public key, `varUint n` epochs (n × `varUint epoch`,
 * `bytes[32] spaceKey`), `bytes[32] creator`, `bytes[32] seatSecret`. The public keys are
 * stored and checked against the secrets, so a damaged key is caught here rather than as
 * signatures nobody accepts. Version 1 is the same without the seat secret: it still reads,
 * with `seatSecret: null`, and `SealedSession.open` gives it one and stores it as version 2.
 * Version 3, once the platform holds the signing key (`SealedSession.open`; the store keeps it
 * apart, as a CryptoKey), is version 2 with the signing public key alone where the pair was: it
 * reads with `secretKey: null`, and the session joins the platform's key to it.
 */
const LABEL = 'mend/membership';
const VERSION = 2;
const WITHOUT_SEAT_SECRET = 1;
const SIGNING_KEY_HELD = 3;
const LABEL_BYTES = (() => {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  return encoding.toUint8Array(e);
})();

export function encodeMembership(m: SealedMembership): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, LABEL);
  const { signing, agreement } = m.identity;
  encoding.writeVarUint(e, signing.secretKey === null ? SIGNING_KEY_HELD : VERSION);
  encoding.writeVarString(e, m.spaceId);
  encoding.writeVarString(e, m.partnerId);
  encoding.writeVarString(e, m.token);
  if (signing.secretKey !== null) encoding.writeUint8Array(e, signing.secretKey);
  encoding.writeUint8Array(e, signing.publicKey);
  encoding.writeUint8Array(e, agreement.secretKey);
  encoding.writeUint8Array(e, agreement.publicKey);
  const epochs = m.keyring.toStored().epochs.map(({ epoch }) => m.keyring.get(epoch)!);
  encoding.writeVarUint(e, epochs.length);
  for (const keys of epochs) {
    encoding.writeVarUint(e, keys.epoch);
    encoding.writeUint8Array(e, keys.spaceKey);
  }
  encoding.writeUint8Array(e, m.creator);
  encoding.writeUint8Array(e, m.seatSecret);
  return encoding.toUint8Array(e);
}

/** A membership as stored: one kept before seat secrets existed has none yet. */
export type StoredMembership = Omit<SealedMembership, 'seatSecret'> & {
  readonly seatSecret: SeatSecret | null;
};

/** Reads a device's secrets back; throws a SealedError (`malformed` or `badKey`) otherwise. */
export function decodeMembership(bytes: Uint8Array): StoredMembership {
  const d = decoding.createDecoder(bytes);
  let membership: StoredMembership;
  try {
    if (!startsWith(bytes, LABEL_BYTES)) throw unreadable('they are not a membership');
    decoding.readVarString(d);
    const version = decoding.readVarUint(d);
    if (version !== VERSION && version !== WITHOUT_SEAT_SECRET && version !== SIGNING_KEY_HELD) {
      throw unreadable(`version ${version} is not one this Mend reads`);
    }
    const spaceId = decoding.readVarString(d);
    if (!isSpaceId(spaceId)) throw unreadable('they name no space');
    const partnerId = decoding.readVarString(d);
    if (!isPartnerId(partnerId)) throw unreadable('they name no partner');
    const token = decoding.readVarString(d);
    if (token.length === 0) throw unreadable('the device’s credential is missing');
    const signing =
      version === SIGNING_KEY_HELD
        ? { secretKey: null, publicKey: readFixed(d) }
        : readPair(d, signingPublicKey);
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
    const seatSecret =
      version === WITHOUT_SEAT_SECRET ? null : (readFixed(d, SEAT_SECRET_BYTES) as SeatSecret);
    membership = {
      spaceId,
      partnerId,
      token,
      identity: { signing, agreement },
      keyring,
      creator,
      seatSecret,
    };
  } catch (error) {
    if (error instanceof SealedError) throw error;
    // lib0 throws plain Errors on a short read or a garbled string.
    throw unreadable('they are cut short or garbled');
  }
  if (decoding.hasContent(d)) throw unreadable('bytes follow their end');
  return membership;
}

/** `decodeMembership`, or null for secrets that do not read (decoding again says why). */
export function readMembership(bytes: Uint8Array): StoredMembership | null {
  try {
    return decodeMembership(bytes);
  } catch {
    return null;
  }
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

function readFixed(d: decoding.Decoder, length = KEY_BYTES): Uint8Array {
  if (d.arr.length - d.pos < length) throw unreadable('they are cut short');
  return decoding.readUint8Array(d, length).slice();
}

function unreadable(why: string): SealedError {
  return new SealedError(
    SealedErrorReason.malformed,
    `The keys stored for this space on this device cannot be read: ${why}.`,
  );
}
